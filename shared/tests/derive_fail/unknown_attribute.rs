use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Hp {
    #[net(speedy)]
    hp: i32,
}

fn main() {}
