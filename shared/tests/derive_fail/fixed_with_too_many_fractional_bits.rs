use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Pos {
    #[net(fixed(frac_bits = 20, min = 0, max = 10))]
    x: i32,
}

fn main() {}
