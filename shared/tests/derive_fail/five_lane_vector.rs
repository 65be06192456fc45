use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Big {
    v: [i32; 5],
}

fn main() {}
