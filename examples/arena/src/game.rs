//! The arena's rules on the server: players aim and fire (their movement is the shared step),
//! projectiles fly and hit, drones wander and bounce, the dead respawn and shooters score.

use crate::config::ArenaConfig;
use crate::entities::{
    Aim, Body, Health, STEPS_PER_UNIT, Score, arena_schema_without_rules, quantize,
};
use crate::input::InputFrame;
use crate::movement::MovementRules;
use crate::step::ArenaStep;
use glam::{IVec2, Vec2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::f32::consts::TAU;
use tickwire_game::{Game, GameWorld, Visibility};
use tickwire_shared::{EntityId, Schema, Tick, Trajectory, codec};

/// The arena's rules in tick units, derived once from the config.
#[derive(Debug)]
struct Rules {
    size: IVec2,
    player_radius: f32,
    player_hp: u8,
    fire_cooldown: u32,
    /// Units per tick.
    projectile_speed: f32,
    projectile_radius: f32,
    projectile_damage: u8,
    projectile_lifetime: u32,
    drone_speed: f32,
    drone_radius: f32,
    drone_hp: u8,
    drone_turn_every: u32,
    /// How far a player sees, in 1/64 units; `None`: everything.
    view_radius: Option<u32>,
}

/// The kinds' indices in the arena's schema.
#[derive(Debug)]
struct Kinds {
    player: u16,
    drone: u16,
    projectile: u16,
}

/// A drone's motion: its velocity (1/64 units per tick) and when it turns.
#[derive(Debug)]
struct Drone {
    velocity: IVec2,
    turn_at: Tick,
}

/// A projectile's flight: its replicated `Trajectory`, which never changes, says where it is at
/// every tick.
#[derive(Debug)]
struct Projectile {
    flight: Trajectory,
    /// Who fired it: it never hits its shooter, and a kill scores for them.
    shooter: EntityId,
    expires: Tick,
}

/// [`Arena`]'s own state in a room's save, by entity id: (player, next shot), (drone,
/// velocity, next turn), (projectile, shooter, expiry).
#[derive(Debug, Serialize, Deserialize)]
struct SavedArena {
    players: Vec<(u32, u32)>,
    drones: Vec<(u32, [i32; 2], u32)>,
    projectiles: Vec<(u32, u32, u32)>,
}

/// Players and drones by grid cell, for projectile hits.
#[derive(Debug)]
struct Targets {
    /// A cell's width in 1/64 units: the farthest a projectile reaches a target from.
    cell: i32,
    /// (is a drone, id) by cell.
    cells: HashMap<(i32, i32), Vec<(bool, EntityId)>>,
}

impl Targets {
    fn cell_of(&self, pos: IVec2) -> (i32, i32) {
        (pos.x.div_euclid(self.cell), pos.y.div_euclid(self.cell))
    }
}

/// One room's arena: what the server knows beyond the replicated world.
#[derive(Debug)]
pub struct Arena {
    rules: Rules,
    kinds: Kinds,
    rng: StdRng,
    /// Players, with when each may fire next.
    players: BTreeMap<EntityId, Tick>,
    drones: BTreeMap<EntityId, Drone>,
    projectiles: BTreeMap<EntityId, Projectile>,
}

impl Game for Arena {
    const NAME: &'static str = "arena";
    const DEFAULT_CONFIG: &'static str = include_str!("../configs/arena.toml");
    type Config = ArenaConfig;
    type Step = ArenaStep;

    fn schema(tick_rate: u16) -> Schema {
        arena_schema_without_rules(tick_rate)
    }

    fn rules(config: &ArenaConfig, tick_rate: u16) -> Result<MovementRules, String> {
        config.validate()?;
        // A projectile's move per tick must fit its trajectory's velocity.
        let per_tick = config.projectile.speed * STEPS_PER_UNIT / f32::from(tick_rate.max(1));
        if per_tick > 1_048_575.0 {
            return Err("projectile.speed is too fast for the tick rate".into());
        }
        let size = quantize(Vec2::new(config.arena.width, config.arena.height));
        let r = quantize(Vec2::splat(config.player.radius));
        Ok(MovementRules {
            step_per_tick: (config.player.speed * STEPS_PER_UNIT / f32::from(tick_rate)).round()
                as i32,
            min: r,
            max: size - r,
        })
    }

    fn create(config: ArenaConfig, _movement: &MovementRules, world: &mut GameWorld) -> Self {
        let mut arena = Self::new(&config, world);
        for _ in 0..config.drones.count {
            arena.spawn_drone(world);
        }
        arena
    }

    /// What the world does not show: fire cooldowns, the drones' motion, who fired what.
    fn save(&self) -> Vec<u8> {
        let saved = SavedArena {
            players: self.players.iter().map(|(id, at)| (id.0, at.0)).collect(),
            drones: (self.drones.iter())
                .map(|(id, d)| (id.0, d.velocity.to_array(), d.turn_at.0))
                .collect(),
            projectiles: (self.projectiles.iter())
                .map(|(id, p)| (id.0, p.shooter.0, p.expires.0))
                .collect(),
        };
        codec::encode_state(&saved).unwrap_or_default()
    }

    /// The arena as saved; its random generator is seeded as a new room's is. An entity the save names
    /// that is not in the world (or not of its kind) is left out.
    fn resume(
        config: ArenaConfig,
        _movement: &MovementRules,
        world: &GameWorld,
        saved: &[u8],
    ) -> Option<Self> {
        let saved: SavedArena = codec::decode_state(saved).ok()?;
        let mut arena = Self::new(&config, world);
        let of_kind = |id: u32, kind: u16| {
            let id = EntityId(id);
            (world.kind_of(id) == Some(kind)).then_some(id)
        };
        for (id, next_shot) in saved.players {
            if let Some(id) = of_kind(id, arena.kinds.player) {
                arena.players.insert(id, Tick(next_shot));
            }
        }
        for (id, velocity, turn_at) in saved.drones {
            if let Some(id) = of_kind(id, arena.kinds.drone) {
                let (velocity, turn_at) = (IVec2::from_array(velocity), Tick(turn_at));
                arena.drones.insert(id, Drone { velocity, turn_at });
            }
        }
        for (id, shooter, expires) in saved.projectiles {
            let Some(id) = of_kind(id, arena.kinds.projectile) else {
                continue;
            };
            let Some(flight) = world.get::<Trajectory>(id) else {
                continue;
            };
            let (shooter, expires) = (EntityId(shooter), Tick(expires));
            arena.projectiles.insert(
                id,
                Projectile {
                    flight,
                    shooter,
                    expires,
                },
            );
        }
        Some(arena)
    }

    fn join(&mut self, world: &mut GameWorld, _name: &str) -> Option<EntityId> {
        let pos = self.random_position(self.rules.player_radius);
        let id = world
            .spawn(self.kinds.player)?
            .with(&Body {
                pos: pos.to_array(),
            })
            .with(&Aim { aim: 0 })
            .with(&Health {
                hp: self.rules.player_hp,
            })
            .with(&Score { score: 0 })
            .id();
        self.players.insert(id, world.tick());
        Some(id)
    }

    fn leave(&mut self, world: &mut GameWorld, player: EntityId) {
        self.players.remove(&player);
        world.despawn(player);
    }

    /// Aims, and fires if the button is down and the cooldown is over.
    fn input(&mut self, world: &mut GameWorld, player: EntityId, input: &InputFrame) {
        let now = world.tick();
        let (Some(next_shot), Some(body)) =
            (self.players.get_mut(&player), world.get::<Body>(player))
        else {
            return;
        };
        world.set(player, &Aim { aim: input.aim });
        if !input.buttons.fire() || now.wrapping_cmp(*next_shot).is_lt() {
            return;
        }
        *next_shot = Tick(now.0.wrapping_add(self.rules.fire_cooldown));
        let direction = Vec2::from_angle(f32::from(input.aim) / 65536.0 * TAU);
        let muzzle =
            direction * (self.rules.player_radius + self.rules.projectile_radius) * STEPS_PER_UNIT;
        let pos = IVec2::from_array(body.pos) + muzzle.round().as_ivec2();
        let velocity = (direction * self.rules.projectile_speed * STEPS_PER_UNIT)
            .round()
            .as_ivec2();
        let Some(spawn) = world.spawn(self.kinds.projectile) else {
            return;
        };
        let flight = Trajectory::new(pos.to_array(), velocity.to_array(), now);
        let id = spawn.with(&flight).with(&Aim { aim: input.aim }).id();
        let expires = Tick(now.0.wrapping_add(self.rules.projectile_lifetime));
        self.projectiles.insert(
            id,
            Projectile {
                flight,
                shooter: player,
                expires,
            },
        );
    }

    fn tick(&mut self, world: &mut GameWorld) {
        self.move_drones(world);
        self.move_projectiles(world);
    }

    /// Within `player.view_radius` of the player (leaving past a tenth more); spectators see
    /// everything.
    fn visibility(&self) -> Visibility {
        match self.rules.view_radius {
            Some(radius) => Visibility::Near {
                radius,
                margin: radius / 10,
            },
            None => Visibility::Everything,
        }
    }

    fn position(&self, world: &GameWorld, entity: EntityId) -> Option<[i32; 2]> {
        match self.projectiles.get(&entity) {
            Some(projectile) => Some(projectile.flight.at(world.tick())),
            None => world.get::<Body>(entity).map(|body| body.pos),
        }
    }
}

impl Arena {
    /// The arena of `config` with no entities yet.
    fn new(config: &ArenaConfig, world: &GameWorld) -> Self {
        let hz = f32::from(world.tick_rate());
        let rules = Rules {
            size: quantize(Vec2::new(config.arena.width, config.arena.height)),
            player_radius: config.player.radius,
            player_hp: config.player.max_hp,
            fire_cooldown: world.ticks(config.player.fire_cooldown_ms),
            projectile_speed: config.projectile.speed / hz,
            projectile_radius: config.projectile.radius,
            projectile_damage: config.projectile.damage,
            projectile_lifetime: world.ticks(config.projectile.lifetime_ms),
            drone_speed: config.drones.speed / hz,
            drone_radius: config.drones.radius,
            drone_hp: config.drones.max_hp,
            drone_turn_every: world.ticks(config.drones.turn_every_ms),
            view_radius: config
                .player
                .view_radius
                .map(|r| quantize(Vec2::splat(r)).x.unsigned_abs()),
        };
        let kind = |name| world.kind(name).expect("the arena's schema has the kind");
        let kinds = Kinds {
            player: kind("player"),
            drone: kind("drone"),
            projectile: kind("projectile"),
        };
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::seed_from_u64(random_seed()),
        };
        Self {
            rules,
            kinds,
            rng,
            players: BTreeMap::new(),
            drones: BTreeMap::new(),
            projectiles: BTreeMap::new(),
        }
    }

    fn move_drones(&mut self, world: &mut GameWorld) {
        let now = world.tick();
        let r = quantize(Vec2::splat(self.rules.drone_radius));
        let (min, max) = (r, self.rules.size - r);
        let ids: Vec<EntityId> = self.drones.keys().copied().collect();
        for id in ids {
            let turn = self.drones.get(&id).is_some_and(|d| d.turn_at == now);
            let velocity = turn.then(|| self.random_velocity(self.rules.drone_speed));
            let Some(drone) = self.drones.get_mut(&id) else {
                continue;
            };
            if let Some(velocity) = velocity {
                drone.velocity = velocity;
                drone.turn_at = Tick(now.0.wrapping_add(self.rules.drone_turn_every));
            }
            let Some(body) = world.get::<Body>(id) else {
                continue;
            };
            let pos = IVec2::from_array(body.pos);
            let next = pos + drone.velocity;
            // Bounce off the walls.
            for axis in 0..2 {
                if next[axis] < min[axis] || next[axis] > max[axis] {
                    drone.velocity[axis] = -drone.velocity[axis];
                }
            }
            let pos = (pos + drone.velocity).clamp(min, max);
            world.set(
                id,
                &Body {
                    pos: pos.to_array(),
                },
            );
            world.set(
                id,
                &Aim {
                    aim: angle_of(drone.velocity),
                },
            );
        }
    }

    fn move_projectiles(&mut self, world: &mut GameWorld) {
        let now = world.tick();
        let targets = self.targets(world);
        let ids: Vec<EntityId> = self.projectiles.keys().copied().collect();
        for id in ids {
            let Some(p) = self.projectiles.get(&id) else {
                continue;
            };
            // Ballistic: the world is not touched, so a flying projectile costs no bytes.
            let (pos, shooter, expired) = (
                IVec2::from_array(p.flight.at(now)),
                p.shooter,
                p.expires == now,
            );
            let outside = pos.cmplt(IVec2::ZERO).any() || pos.cmpgt(self.rules.size).any();
            if expired || outside {
                self.projectiles.remove(&id);
                world.despawn(id);
            } else if let Some(target) = self.target_hit_at(world, &targets, pos, shooter) {
                self.projectiles.remove(&id);
                world.despawn(id);
                self.damage(world, target, shooter);
            }
        }
    }

    /// Players and drones by cell of [`Targets::cell`], as they stand when projectiles move:
    /// a projectile looks at the 3 x 3 cells around it, not at every target. (A player that
    /// respawns, or a drone that replaces a dead one, during this pass can be hit from the next
    /// tick on.)
    fn targets(&self, world: &GameWorld) -> Targets {
        let reach = |radius: f32| ((radius + self.rules.projectile_radius) * STEPS_PER_UNIT).ceil();
        let cell = reach(self.rules.player_radius.max(self.rules.drone_radius)) as i32;
        let mut targets = Targets {
            cell: cell.max(1),
            cells: HashMap::new(),
        };
        let players = self.players.keys().map(|&id| (false, id));
        let drones = self.drones.keys().map(|&id| (true, id));
        for (is_drone, id) in players.chain(drones) {
            if let Some(body) = world.get::<Body>(id) {
                let at = targets.cell_of(IVec2::from_array(body.pos));
                targets.cells.entry(at).or_default().push((is_drone, id));
            }
        }
        targets
    }

    /// The player or drone (not the shooter) a projectile at `pos` touches: players before
    /// drones, lowest id first.
    fn target_hit_at(
        &self,
        world: &GameWorld,
        targets: &Targets,
        pos: IVec2,
        shooter: EntityId,
    ) -> Option<EntityId> {
        let (cx, cy) = targets.cell_of(pos);
        let near = (cx - 1..=cx + 1)
            .flat_map(|x| (cy - 1..=cy + 1).map(move |y| (x, y)))
            .filter_map(|at| targets.cells.get(&at))
            .flatten();
        near.filter(|&&(_, id)| id != shooter)
            .filter(|&&(is_drone, id)| {
                let Some(body) = world.get::<Body>(id) else {
                    return false;
                };
                let radius = if is_drone {
                    self.rules.drone_radius
                } else {
                    self.rules.player_radius
                };
                let reach = (radius + self.rules.projectile_radius) * STEPS_PER_UNIT;
                (IVec2::from_array(body.pos) - pos)
                    .as_vec2()
                    .length_squared()
                    <= reach * reach
            })
            .min()
            .map(|&(_, id)| id)
    }

    /// A hit: costs hp; a kill respawns a player (full hp, elsewhere) or replaces a drone, and
    /// scores for the shooter.
    fn damage(&mut self, world: &mut GameWorld, target: EntityId, shooter: EntityId) {
        let Some(hp) = world.update::<Health, _>(target, |h| {
            h.hp = h.hp.saturating_sub(self.rules.projectile_damage);
            h.hp
        }) else {
            return;
        };
        if hp > 0 {
            return;
        }
        if self.players.contains_key(&target) {
            let pos = self.random_position(self.rules.player_radius);
            world.set(
                target,
                &Health {
                    hp: self.rules.player_hp,
                },
            );
            world.set(
                target,
                &Body {
                    pos: pos.to_array(),
                },
            );
        } else {
            self.drones.remove(&target);
            world.despawn(target);
            self.spawn_drone(world);
        }
        if self.players.contains_key(&shooter) {
            world.update::<Score, _>(shooter, |s| s.score = s.score.saturating_add(1));
        }
    }

    fn spawn_drone(&mut self, world: &mut GameWorld) {
        let pos = self.random_position(self.rules.drone_radius);
        let velocity = self.random_velocity(self.rules.drone_speed);
        let Some(spawn) = world.spawn(self.kinds.drone) else {
            return;
        };
        let id = spawn
            .with(&Body {
                pos: pos.to_array(),
            })
            .with(&Aim {
                aim: angle_of(velocity),
            })
            .with(&Health {
                hp: self.rules.drone_hp,
            })
            .id();
        let turn_at = Tick(world.tick().0.wrapping_add(self.rules.drone_turn_every));
        self.drones.insert(id, Drone { velocity, turn_at });
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

/// A seed that differs between rooms and runs: std's hasher keys are random per process and
/// per `RandomState`.
fn random_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

/// A direction as a fraction of a full turn (the aim's format).
fn angle_of(v: IVec2) -> u16 {
    let turns = v.as_vec2().to_angle() / TAU;
    (turns.rem_euclid(1.0) * 65536.0) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use tickwire_shared::codec;
    use tickwire_shared::layout::Layout;

    fn arena() -> (Arena, GameWorld) {
        arena_with(toml_config())
    }

    fn arena_with(mut config: ArenaConfig) -> (Arena, GameWorld) {
        config.seed = Some(7);
        let rules = Arena::rules(&config, 30).expect("valid");
        let schema = Arena::schema(30).rules(codec::encode_rules(&rules).expect("encodes"));
        let layout = Arc::new(Layout::new(schema).expect("valid"));
        let mut world = GameWorld::new(layout, 30, 64);
        (Arena::create(config, &rules, &mut world), world)
    }

    fn toml_config() -> ArenaConfig {
        let text = include_str!("../configs/arena.toml");
        let mut table: toml::Table = toml::from_str(text).expect("toml");
        for head in ["game", "name", "tick_rate"] {
            table.remove(head);
        }
        table.try_into().expect("an arena config")
    }

    #[test]
    fn a_hit_costs_hp_and_a_kill_scores_and_respawns() {
        let (mut arena, mut world) = arena();
        let shooter = arena.join(&mut world, "a").expect("a player");
        let victim = arena.join(&mut world, "b").expect("a player");
        let before = world.get::<Body>(victim).expect("a body");
        let (hp, damage) = (arena.rules.player_hp, arena.rules.projectile_damage);
        let shots = u32::from(hp.div_ceil(damage));
        for shot in 1..=shots {
            arena.damage(&mut world, victim, shooter);
            let health = world
                .get::<Health>(victim)
                .expect("players are never despawned");
            if shot < shots {
                assert_eq!(health.hp, hp - shot as u8 * damage);
            } else {
                assert_eq!(health.hp, hp, "respawned with full hp");
                assert_ne!(world.get::<Body>(victim), Some(before.clone()), "elsewhere");
            }
        }
        assert_eq!(world.get::<Score>(shooter), Some(Score { score: 1 }));
    }

    #[test]
    fn a_projectile_hits_the_nearest_target_in_its_path_not_its_shooter() {
        let (mut arena, mut world) = arena();
        let at = |world: &mut GameWorld, id, x: f32, y: f32| {
            let pos = quantize(Vec2::new(x, y)).to_array();
            world.set(id, &Body { pos });
        };
        let shooter = arena.join(&mut world, "a").expect("a player");
        let first = arena.join(&mut world, "b").expect("a player");
        let second = arena.join(&mut world, "c").expect("a player");
        let aside = arena.join(&mut world, "d").expect("a player");
        at(&mut world, shooter, 100.0, 500.0);
        at(&mut world, first, 300.0, 500.0);
        at(&mut world, second, 320.0, 500.0);
        at(&mut world, aside, 300.0, 560.0);
        // The drones wander elsewhere: out of the line of fire.
        for drone in arena.drones.keys().copied().collect::<Vec<_>>() {
            at(&mut world, drone, 900.0, 100.0);
            arena.drones.get_mut(&drone).expect("a drone").velocity = IVec2::ZERO;
        }
        let fire = InputFrame {
            buttons: crate::input::Buttons(crate::input::Buttons::FIRE),
            ..InputFrame::default()
        };
        world.advance_tick();
        arena.input(&mut world, shooter, &fire);
        let hp = |world: &GameWorld, id| world.get::<Health>(id).expect("health").hp;
        let full = arena.rules.player_hp;
        for _ in 0..30 {
            world.advance_tick();
            arena.tick(&mut world);
        }
        assert!(arena.projectiles.is_empty(), "the projectile hit something");
        assert_eq!(hp(&world, first), full - arena.rules.projectile_damage);
        for id in [shooter, second, aside] {
            assert_eq!(hp(&world, id), full);
        }
    }

    #[test]
    fn a_resumed_arena_keeps_cooldowns_drones_and_projectiles_in_flight() {
        let (mut arena, mut world) = arena();
        let shooter = arena.join(&mut world, "a").expect("a player");
        world.advance_tick();
        let fire = InputFrame {
            buttons: crate::input::Buttons(crate::input::Buttons::FIRE),
            ..InputFrame::default()
        };
        arena.input(&mut world, shooter, &fire);
        assert_eq!(arena.projectiles.len(), 1);
        let saved = arena.save();
        let moved = GameWorld::restored(
            Arc::clone(world.layout()),
            30,
            64,
            world.tick(),
            world.replicated().clone(),
        );
        let resumed = Arena::resume(
            toml_config(),
            &Arena::rules(&toml_config(), 30).expect("valid"),
            &moved,
            &saved,
        )
        .expect("the arena resumes");
        assert_eq!(
            format!("{:?}", resumed.players),
            format!("{:?}", arena.players)
        );
        assert_eq!(
            format!("{:?}", resumed.drones),
            format!("{:?}", arena.drones)
        );
        assert_eq!(
            format!("{:?}", resumed.projectiles),
            format!("{:?}", arena.projectiles)
        );
        assert!(
            Arena::resume(
                toml_config(),
                &Arena::rules(&toml_config(), 30).expect("valid"),
                &moved,
                b"\xff"
            )
            .is_none(),
            "a save it cannot read"
        );
    }

    #[test]
    fn a_view_radius_is_interest_management_around_each_player() {
        let (arena, _) = arena();
        assert_eq!(arena.visibility(), Visibility::Everything, "by default");
        let mut config = toml_config();
        config.player.view_radius = Some(100.0);
        let (mut arena, mut world) = arena_with(config.clone());
        let radius = 100 * STEPS_PER_UNIT as u32;
        assert_eq!(
            arena.visibility(),
            Visibility::Near {
                radius,
                margin: radius / 10
            }
        );
        let a = arena.join(&mut world, "a").expect("a");
        let pos = quantize(Vec2::new(100.0, 500.0)).to_array();
        world.set(a, &Body { pos });
        assert_eq!(arena.position(&world, a), Some(pos));

        for bad in [0.0, -1.0, f32::NAN, 1e6] {
            config.player.view_radius = Some(bad);
            assert!(config.validate().is_err(), "{bad}");
        }
    }
}
