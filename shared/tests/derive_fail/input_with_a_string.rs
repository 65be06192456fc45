use tickwire_shared::component::Input;

#[derive(Clone, Default, PartialEq, Input)]
struct Chat {
    #[net(string(max_len = 8))]
    text: String,
}

fn main() {}
