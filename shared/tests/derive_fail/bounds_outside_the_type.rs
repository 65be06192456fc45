use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Hp {
    #[net(int(min = -1, max = 10))]
    hp: u8,
}

fn main() {}
