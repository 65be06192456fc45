use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Pos {
    x: f32,
}

fn main() {}
