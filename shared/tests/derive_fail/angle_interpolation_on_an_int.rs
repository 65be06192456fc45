use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Turn {
    #[net(int(min = 0, max = 359), interpolate = "angle")]
    degrees: u16,
}

fn main() {}
