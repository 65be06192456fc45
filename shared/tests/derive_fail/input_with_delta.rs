use tickwire_shared::component::Input;

#[derive(Clone, Default, PartialEq, Input)]
struct Move {
    #[net(int(min = -1, max = 1), delta)]
    dx: i8,
}

fn main() {}
