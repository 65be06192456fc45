use tickwire_shared::component::Component;

#[derive(Clone, PartialEq, Component)]
struct Flag {
    #[net(delta)]
    on: bool,
}

fn main() {}
