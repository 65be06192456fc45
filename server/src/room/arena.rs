//! The arena game: players move, aim and fire; projectiles fly and hit; drones wander; the dead
//! respawn and shooters score. Clock-free: the loop calls `step` once per tick.

use crate::room::scenario::Scenario;
use crate::room::world::{EntityKey, World};
use glam::{IVec2, Vec2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::f32::consts::TAU;
use std::sync::Arc;
use tickwire_shared::entity::{STEPS_PER_UNIT, arena_schema, quantize};
use tickwire_shared::layout::Layout;
use tickwire_shared::{
    EntityId, EntityKind, EntityState, InputFrame, MovementRules, SchemaHash, Tick,
};

/// The arena's rules in tick units, derived once from the scenario.
#[derive(Debug)]
struct Rules {
    movement: MovementRules,
    size: IVec2,
    player_radius: f32,
    player_hp: u8,
    fire_cooldown: u32,
    projectile_speed: f32,
    projectile_radius: f32,
    projectile_damage: u8,
    projectile_lifetime: u32,
    drone_count: u32,
    drone_speed: f32,
    drone_radius: f32,
    drone_hp: u8,
    drone_turn_every: u32,
    props_moving_per_tick: usize,
    /// Largest prop move per axis per tick, in 1/64 units.
    prop_jitter: i32,
}

/// The arena world and its rules.
#[derive(Debug)]
pub(crate) struct Arena {
    world: World,
    layout: Arc<Layout>,
    schema_hash: SchemaHash,
    rules: Rules,
    rng: StdRng,
    /// Props in spawn order, and where this tick's moving window starts.
    props: Vec<EntityKey>,
    next_prop: usize,
    /// See [`Scenario::panic_at_tick`].
    panic_at_tick: Option<u32>,
    /// See [`Scenario::tick_delay`].
    tick_delay: Option<std::time::Duration>,
}

impl Arena {
    pub(crate) fn new(scenario: &Scenario, id_quarantine_ticks: u32) -> Self {
        let hz = f32::from(scenario.tick_rate);
        let size = quantize(Vec2::new(scenario.arena.width, scenario.arena.height));
        let r = quantize(Vec2::splat(scenario.player.radius));
        let rules = Rules {
            movement: MovementRules {
                step_per_tick: (scenario.player.speed * STEPS_PER_UNIT / hz).round() as i32,
                min: r,
                max: size - r,
            },
            size,
            player_radius: scenario.player.radius,
            player_hp: scenario.player.max_hp,
            fire_cooldown: scenario.ticks(scenario.player.fire_cooldown_ms),
            projectile_speed: scenario.projectile.speed / hz,
            projectile_radius: scenario.projectile.radius,
            projectile_damage: scenario.projectile.damage,
            projectile_lifetime: scenario.ticks(scenario.projectile.lifetime_ms),
            drone_count: scenario.drones.count,
            drone_speed: scenario.drones.speed / hz,
            drone_radius: scenario.drones.radius,
            drone_hp: scenario.drones.max_hp,
            drone_turn_every: scenario.ticks(scenario.drones.turn_every_ms),
            props_moving_per_tick: scenario.props.moving_per_tick as usize,
            prop_jitter: (scenario.props.jitter * STEPS_PER_UNIT).round() as i32,
        };
        let rng = match scenario.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        let schema =
            arena_schema(scenario.tick_rate, &rules.movement).expect("the arena's rules encode");
        let schema_hash = schema.hash().expect("the arena's schema encodes");
        // The scenario's checks (tick rate, arena size) keep the schema within its rules.
        let layout = Arc::new(Layout::new(schema).expect("the arena's schema is valid"));
        let mut arena = Self {
            world: World::new(id_quarantine_ticks, Arc::clone(&layout)),
            layout,
            schema_hash,
            rules,
            rng,
            props: Vec::new(),
            next_prop: 0,
            panic_at_tick: scenario.panic_at_tick,
            tick_delay: scenario.tick_delay,
        };
        for _ in 0..arena.rules.drone_count {
            arena.spawn_drone();
        }
        for _ in 0..scenario.props.count {
            let pos = arena.random_position(0.0);
            let state = EntityState::new(EntityKind::Prop, pos);
            let key = arena.world.spawn(state, IVec2::ZERO, None, Tick(0));
            arena.props.push(key);
        }
        arena
    }

    pub(crate) fn tick(&self) -> Tick {
        self.world.tick()
    }

    /// The game's layout: its schema (with the movement rules) and offsets.
    pub(crate) fn layout(&self) -> &Arc<Layout> {
        &self.layout
    }

    /// The hash of [`Arena::layout`]'s schema.
    pub(crate) fn schema_hash(&self) -> SchemaHash {
        self.schema_hash
    }

    /// The state every client must hold after this tick.
    pub(crate) fn replicated(&mut self) -> &tickwire_shared::World {
        self.world.replicated()
    }

    pub(crate) fn spawn_player(&mut self) -> (EntityKey, EntityId) {
        let pos = self.random_position(self.rules.player_radius);
        let state = EntityState {
            hp: self.rules.player_hp,
            ..EntityState::new(EntityKind::Player, pos)
        };
        let key = self
            .world
            .spawn(state, IVec2::ZERO, None, self.world.tick());
        let id = self.world.get(key).map_or(EntityId(u32::MAX), |e| e.id);
        (key, id)
    }

    pub(crate) fn remove_player(&mut self, key: EntityKey) {
        self.world.despawn(key);
    }

    /// One input frame: exactly one movement step with the shared rules, aim, and maybe a shot.
    pub(crate) fn apply_input(&mut self, player: EntityKey, input: &InputFrame) {
        let now = self.world.tick();
        let Some(entity) = self.world.get_mut(player) else {
            return;
        };
        entity.state.pos = self.rules.movement.step(entity.state.pos, input);
        entity.state.aim = input.aim;
        if !input.buttons.fire() || now.wrapping_cmp(entity.timer).is_lt() {
            return;
        }
        entity.timer = Tick(now.0.wrapping_add(self.rules.fire_cooldown));
        let direction = Vec2::from_angle(f32::from(input.aim) / 65536.0 * TAU);
        let muzzle =
            direction * (self.rules.player_radius + self.rules.projectile_radius) * STEPS_PER_UNIT;
        let pos = entity.state.pos + muzzle.round().as_ivec2();
        let velocity = (direction * self.rules.projectile_speed * STEPS_PER_UNIT)
            .round()
            .as_ivec2();
        let state = EntityState {
            aim: input.aim,
            ..EntityState::new(EntityKind::Projectile, pos)
        };
        let expires = Tick(now.0.wrapping_add(self.rules.projectile_lifetime));
        self.world.spawn(state, velocity, Some(player), expires);
    }

    /// Advances the world by one tick (inputs for the new tick are applied after this).
    pub(crate) fn step(&mut self) {
        let now = self.world.advance_tick();
        if self.panic_at_tick == Some(now.0) {
            panic!("fault injection: the scenario panics at tick {}", now.0);
        }
        if let Some(delay) = self.tick_delay {
            std::thread::sleep(delay);
        }
        self.move_drones(now);
        self.move_projectiles(now);
        self.move_props();
    }

    /// Moves the next window of props by a random jitter each, staying inside the arena.
    fn move_props(&mut self) {
        let jitter = self.rules.prop_jitter;
        for _ in 0..self.rules.props_moving_per_tick.min(self.props.len()) {
            let key = self.props[self.next_prop];
            self.next_prop = (self.next_prop + 1) % self.props.len();
            let step = IVec2::new(
                self.rng.random_range(-jitter..=jitter),
                self.rng.random_range(-jitter..=jitter),
            );
            if let Some(prop) = self.world.get_mut(key) {
                prop.state.pos = (prop.state.pos + step).clamp(IVec2::ZERO, self.rules.size);
            }
        }
    }

    fn move_drones(&mut self, now: Tick) {
        let turns: Vec<EntityKey> = self
            .world
            .iter()
            .filter(|(_, e)| e.state.kind == EntityKind::Drone && e.timer == now)
            .map(|(k, _)| k)
            .collect();
        for key in turns {
            let velocity = self.random_velocity(self.rules.drone_speed);
            if let Some(drone) = self.world.get_mut(key) {
                drone.velocity = velocity;
                drone.timer = Tick(now.0.wrapping_add(self.rules.drone_turn_every));
            }
        }
        let r = quantize(Vec2::splat(self.rules.drone_radius));
        let (min, max) = (r, self.rules.size - r);
        for (_, drone) in self
            .world
            .iter_mut()
            .filter(|(_, e)| e.state.kind == EntityKind::Drone)
        {
            let next = drone.state.pos + drone.velocity;
            // Bounce off the walls.
            for axis in 0..2 {
                if next[axis] < min[axis] || next[axis] > max[axis] {
                    drone.velocity[axis] = -drone.velocity[axis];
                }
            }
            drone.state.pos = (drone.state.pos + drone.velocity).clamp(min, max);
            drone.state.aim = angle_of(drone.velocity);
        }
    }

    fn move_projectiles(&mut self, now: Tick) {
        let projectiles: Vec<EntityKey> = self
            .world
            .iter()
            .filter(|(_, e)| e.state.kind == EntityKind::Projectile)
            .map(|(k, _)| k)
            .collect();
        for key in projectiles {
            let Some(p) = self.world.get_mut(key) else {
                continue;
            };
            p.state.pos += p.velocity;
            let (pos, owner, expired) = (p.state.pos, p.owner, p.timer == now);
            let outside = pos.cmplt(IVec2::ZERO).any() || pos.cmpgt(self.rules.size).any();
            if expired || outside {
                self.world.despawn(key);
            } else if let Some(target) = self.target_hit_at(pos, owner) {
                self.world.despawn(key);
                self.damage(target, owner);
            }
        }
    }

    fn target_hit_at(&self, pos: IVec2, owner: Option<EntityKey>) -> Option<EntityKey> {
        self.world
            .iter()
            .filter(|(key, e)| {
                Some(*key) != owner
                    && matches!(e.state.kind, EntityKind::Player | EntityKind::Drone)
            })
            .find(|(_, e)| {
                let radius = match e.state.kind {
                    EntityKind::Player => self.rules.player_radius,
                    _ => self.rules.drone_radius,
                };
                let reach = (radius + self.rules.projectile_radius) * STEPS_PER_UNIT;
                (e.state.pos - pos).as_vec2().length_squared() <= reach * reach
            })
            .map(|(key, _)| key)
    }

    fn damage(&mut self, target: EntityKey, shooter: Option<EntityKey>) {
        let respawn_at = self.random_position(self.rules.player_radius);
        let Some(victim) = self.world.get_mut(target) else {
            return;
        };
        victim.state.hp = victim.state.hp.saturating_sub(self.rules.projectile_damage);
        if victim.state.hp > 0 {
            return;
        }
        match victim.state.kind {
            EntityKind::Player => {
                victim.state.hp = self.rules.player_hp;
                victim.state.pos = respawn_at;
            }
            _ => {
                self.world.despawn(target);
                self.spawn_drone();
            }
        }
        if let Some(shooter) = shooter.and_then(|k| self.world.get_mut(k)) {
            shooter.state.score = shooter.state.score.saturating_add(1);
        }
    }

    fn spawn_drone(&mut self) {
        let pos = self.random_position(self.rules.drone_radius);
        let velocity = self.random_velocity(self.rules.drone_speed);
        let state = EntityState {
            hp: self.rules.drone_hp,
            aim: angle_of(velocity),
            ..EntityState::new(EntityKind::Drone, pos)
        };
        let turn_at = Tick(
            self.world
                .tick()
                .0
                .wrapping_add(self.rules.drone_turn_every),
        );
        self.world.spawn(state, velocity, None, turn_at);
    }

    fn random_position(&mut self, radius: f32) -> IVec2 {
        let r = quantize(Vec2::splat(radius));
        let max = self.rules.size - r;
        IVec2::new(
            self.rng.random_range(r.x..=max.x),
            self.rng.random_range(r.y..=max.y),
        )
    }

    fn random_velocity(&mut self, units_per_tick: f32) -> IVec2 {
        let direction = Vec2::from_angle(self.rng.random_range(0.0..TAU));
        (direction * units_per_tick * STEPS_PER_UNIT)
            .round()
            .as_ivec2()
    }
}

/// A direction as a fraction of a full turn (the wire's aim format).
fn angle_of(v: IVec2) -> u16 {
    let turns = v.as_vec2().to_angle() / TAU;
    (turns.rem_euclid(1.0) * 65536.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use tickwire_shared::Buttons;

    fn arena() -> Arena {
        let mut scenario = Scenario::arena();
        scenario.seed = Some(7);
        Arena::new(&scenario, 64)
    }

    #[test]
    fn a_fired_projectile_flies_and_expires() {
        let mut arena = arena();
        let (player, _) = arena.spawn_player();
        let fire = InputFrame {
            sequence: 1,
            buttons: Buttons(Buttons::FIRE),
            ..InputFrame::default()
        };
        arena.step();
        arena.apply_input(player, &fire);
        let count = |a: &mut Arena| {
            a.replicated()
                .iter()
                .filter(|(_, s)| s.kind == u16::from(EntityKind::Projectile.as_u8()))
                .count()
        };
        assert_eq!(count(&mut arena), 1);
        for _ in 0..arena.rules.projectile_lifetime + 1 {
            arena.step();
        }
        assert_eq!(count(&mut arena), 0);
    }

    #[test]
    fn a_hit_costs_hp_and_a_kill_scores_and_respawns() {
        let mut arena = arena();
        let (shooter, _) = arena.spawn_player();
        let (victim, _) = arena.spawn_player();
        let victim_pos = arena
            .world
            .get(victim)
            .map(|e| e.state.pos)
            .expect("spawned");
        let hp = arena.rules.player_hp;
        for shot in 1..=u32::from(hp.div_ceil(arena.rules.projectile_damage)) {
            arena.damage(victim, Some(shooter));
            let v = arena
                .world
                .get(victim)
                .expect("players are never despawned by damage");
            if shot < u32::from(hp.div_ceil(arena.rules.projectile_damage)) {
                assert_eq!(v.state.hp, hp - shot as u8 * arena.rules.projectile_damage);
            } else {
                assert_eq!(v.state.hp, hp, "respawned with full hp");
                assert_ne!(v.state.pos, victim_pos, "respawned elsewhere");
            }
        }
        assert_eq!(arena.world.get(shooter).map(|e| e.state.score), Some(1));
    }

    #[test]
    fn props_move_in_a_rotating_window_by_at_most_the_jitter() {
        let scenario =
            Scenario::from_toml(include_str!("../../../assets/scenarios/parity-320.toml"))
                .expect("parity-320 parses");
        let mut arena = Arena::new(&scenario, 8);
        let mut before = arena.replicated().clone();
        assert_eq!(before.len(), 320);
        let mut moved_ids = Vec::new();
        for _ in 0..5 {
            arena.step();
            let after = arena.replicated().clone();
            let delta = before.diff(&after, &arena.layout);
            assert!(delta.created.is_empty() && delta.removed.is_empty());
            // Each of the 64 in the window moves (a zero draw on both axes is rare but allowed).
            assert!(delta.changed.len() <= 64 && delta.changed.len() >= 60);
            for change in &delta.changed {
                let (lanes, _) = delta
                    .values(change, &arena.layout)
                    .expect("a prop's values");
                // A prop is its Body: the two lanes are the position's difference.
                assert!(lanes.iter().all(|d| d.abs() <= 32), "{change:?} {lanes:?}");
            }
            moved_ids.extend(delta.changed.iter().map(|c| c.id));
            before = after;
        }
        moved_ids.sort();
        moved_ids.dedup();
        assert!(
            moved_ids.len() >= 300,
            "five windows of 64 cover the 320 props"
        );
    }
}
