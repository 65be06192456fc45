use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Name {
    name: String,
}

fn main() {}
