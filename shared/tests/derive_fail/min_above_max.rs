use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Hp {
    #[net(int(min = 5, max = 1))]
    hp: i32,
}

fn main() {}
