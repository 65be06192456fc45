use tickwire_shared::component::NetEnum;

#[derive(Clone, Copy, NetEnum)]
enum Weapon {
    Sword,
    Bow(u8),
}

fn main() {}
