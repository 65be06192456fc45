//! What a game's own types implement so Tickwire can replicate them: [`Component`] for the state
//! of entities, [`Input`] for what a player sends each tick, [`NetEnum`] for fieldless enums in
//! either. `#[derive(Component)]`, `#[derive(Input)]` and `#[derive(NetEnum)]` write them from
//! the struct and its `#[net(...)]` attributes, so the descriptor cannot drift from the type
//! and a wrong attribute is a compile error.
//!
//! A value travels as integer lanes (and strings), losslessly: `read(write(x)) == x`, and
//! `read` refuses lanes outside the declared domains, so a decoded value is always one the
//! game could have made.

use crate::schema::{ComponentDesc, FieldDesc};

pub use tickwire_derive::{Component, Input, NetEnum};

/// A replicated component: a plain struct whose fields are integers in declared domains,
/// booleans, [`NetEnum`]s, or bounded strings.
///
/// ```
/// use tickwire_shared::component::{Component, NetEnum};
///
/// #[derive(Clone, Copy, Debug, PartialEq, NetEnum)]
/// enum Gear { Reverse, Neutral, Drive }
///
/// #[derive(Clone, Debug, PartialEq, Component)]
/// struct Car {
///     /// Fixed point with 6 fractional bits: 1/64 of a world unit.
///     #[net(fixed(frac_bits = 6, min = -262144, max = 262143), delta, interpolate = "linear")]
///     pos: [i32; 2],
///     #[net(angle(bits = 12), interpolate = "angle", tolerance = 2)]
///     heading: u16,
///     gear: Gear,
///     #[net(int(min = 0, max = 99))]
///     laps: u8,
///     braking: bool,
///     #[net(string(max_len = 16), spawn_only)]
///     driver: String,
/// }
///
/// let car = Car { pos: [640, -64], heading: 1024, gear: Gear::Drive, laps: 3, braking: false,
///                 driver: "ann".into() };
/// let (mut lanes, mut strings) = (Vec::new(), Vec::new());
/// car.write(&mut lanes, &mut strings);
/// assert_eq!(lanes, [640, -64, 1024, 2, 3, 0]);
/// assert_eq!(Car::read(&lanes, &strings), Some(car));
/// assert_eq!(Car::desc().fields.len(), 6);
/// lanes[4] = 100; // laps past its max
/// assert_eq!(Car::read(&lanes, &strings), None);
/// ```
pub trait Component: Clone + PartialEq + Sized + 'static {
    /// Its descriptor: its name (the type's) and its fields, in declaration order.
    fn desc() -> ComponentDesc;
    /// Appends its lanes (every field but strings, in order) to `lanes` and its strings to
    /// `strings`.
    fn write(&self, lanes: &mut Vec<i32>, strings: &mut Vec<String>);
    /// Rebuilds it from the lanes and strings `write` wrote; `None` when there are too few, or
    /// a value is outside its field's domain. Extra lanes or strings are ignored.
    fn read(lanes: &[i32], strings: &[String]) -> Option<Self>;
}

/// A player's input for one tick: like a [`Component`], without strings, and every field sent
/// whole.
pub trait Input: Clone + PartialEq + Default + Sized + 'static {
    /// Its fields, in declaration order.
    fn fields() -> Vec<FieldDesc>;
    /// Appends its lanes to `lanes`.
    fn write(&self, lanes: &mut Vec<i32>);
    /// Rebuilds it from the lanes `write` wrote; `None` when there are too few, or a value is
    /// outside its field's domain.
    fn read(lanes: &[i32]) -> Option<Self>;
}

/// A fieldless enum replicated by its variant's index.
pub trait NetEnum: Copy + Sized + 'static {
    /// The variants' names, in declaration order.
    const VARIANTS: &'static [&'static str];
    /// This variant's index in [`Self::VARIANTS`].
    fn index(self) -> u16;
    /// The variant at `index`.
    fn from_index(index: u16) -> Option<Self>;
}
