use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Größe {
    wert: i32,
}

fn main() {}
