use super::*;
use crate::ops::metrics::Metrics;
use tickwire_game::{Game, GameWorld};
use tickwire_shared::client_world::Applied;
use tickwire_shared::component::{Component, Input};
use tickwire_shared::{ClientWorld, ServerMessage, SharedStep, codec};

/// The room's test game: each player is a dot on a line that an input moves `step` along.
/// With `sight`, a player sees only the dots at most that far from its own. With `rich`, each
/// player also has a purse only it receives, a coin richer for every input. With `wander`,
/// every dot also moves by a pseudo-random -100 to 100 each tick.
#[derive(Debug)]
struct Walkers {
    sight: Option<i32>,
    rich: bool,
    wander: bool,
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Purse {
    #[net(int(min = -5, max = 1000))]
    coins: i32,
}

#[derive(Clone, Debug, PartialEq, Component)]
struct Dot {
    #[net(int(min = -1000000, max = 1000000))]
    x: i32,
}

#[derive(Clone, Debug, Default, PartialEq, Input)]
struct Walk {
    #[net(int(min = 0, max = 1))]
    go: u8,
}

#[derive(Debug)]
struct WalkStep;

impl SharedStep for WalkStep {
    type Input = Walk;
    type State = Dot;
    /// How far one input moves a dot.
    type Rules = i32;
    fn step(step: &i32, dot: &mut Dot, walk: &Walk) {
        dot.x += step * i32::from(walk.go);
    }
}

#[derive(serde::Deserialize)]
struct WalkConfig {
    step: i32,
    sight: Option<i32>,
    #[serde(default)]
    rich: bool,
    #[serde(default)]
    wander: bool,
}

impl Game for Walkers {
    const NAME: &'static str = "walkers";
    const DEFAULT_CONFIG: &'static str =
        "game = \"walkers\"\nname = \"line\"\ntick_rate = 30\nstep = 5\n";
    type Config = WalkConfig;
    type Step = WalkStep;
    fn schema(tick_rate: u16) -> tickwire_shared::Schema {
        tickwire_shared::Schema::new("walkers", 1, tick_rate)
            .component::<Dot>()
            .owner_only::<Purse>()
            .kind("dot", &["Dot"])
            .kind("rich", &["Dot", "Purse"])
            .input::<Walk>()
    }
    fn rules(config: &WalkConfig, _tick_rate: u16) -> Result<i32, String> {
        Ok(config.step)
    }
    fn create(config: WalkConfig, _step: &i32, _world: &mut GameWorld) -> Self {
        Self {
            sight: config.sight,
            rich: config.rich,
            wander: config.wander,
        }
    }
    fn resume(config: WalkConfig, _step: &i32, _world: &GameWorld, _saved: &[u8]) -> Option<Self> {
        Some(Self {
            sight: config.sight,
            rich: config.rich,
            wander: config.wander,
        })
    }
    fn join(&mut self, world: &mut GameWorld, name: &str) -> Option<EntityId> {
        if self.rich && name != "poor" {
            let rich = world.kind("rich")?;
            let purse = Purse { coins: 10 };
            return Some(world.spawn(rich)?.with(&Dot { x: 0 }).with(&purse).id());
        }
        let dot = world.kind("dot")?;
        Some(world.spawn(dot)?.with(&Dot { x: 0 }).id())
    }
    fn input(&mut self, world: &mut GameWorld, player: EntityId, _walk: &Walk) {
        world.update::<Purse, _>(player, |purse| purse.coins += 1);
    }
    fn tick(&mut self, world: &mut GameWorld) {
        if !self.wander {
            return;
        }
        let tick = world.tick().0;
        let ids: Vec<EntityId> = world.entities().map(|(id, _)| id).collect();
        for id in ids {
            let step = (id.0.wrapping_mul(2_654_435_761) ^ tick.wrapping_mul(40_503)) % 201;
            world.update::<Dot, _>(id, |dot| dot.x += step as i32 - 100);
        }
    }

    fn visibility(&self) -> Visibility {
        match self.sight {
            Some(_) => Visibility::PerClient,
            None => Visibility::Everything,
        }
    }

    fn visible(&self, world: &GameWorld, viewer: Option<EntityId>, entity: EntityId) -> bool {
        let (Some(sight), Some(viewer)) = (self.sight, viewer) else {
            return true;
        };
        let x = |id| world.get::<Dot>(id).map(|dot| dot.x);
        matches!((x(viewer), x(entity)), (Some(a), Some(b)) if (a - b).abs() <= sight)
    }
}

/// A test client's connection: a number of the test's own.
#[derive(Debug)]
struct TestPeer(usize);

/// The test's outlet: what the room sent each peer and did not deliver yet (its in-flight
/// count), and how each peer was let go.
#[derive(Default)]
struct Recorder {
    undelivered: HashMap<usize, Vec<Bytes>>,
    disconnected: HashMap<usize, Option<CloseReason>>,
    peers: usize,
}

impl Outlet<TestPeer> for Recorder {
    fn in_flight(&self, peer: &TestPeer) -> usize {
        self.undelivered.get(&peer.0).map_or(0, Vec::len)
    }

    fn send(&mut self, _client: ClientId, peer: &TestPeer, message: Bytes) {
        self.undelivered.entry(peer.0).or_default().push(message);
    }

    fn disconnect(&mut self, _client: ClientId, peer: TestPeer, reason: Option<CloseReason>) {
        self.disconnected.insert(peer.0, reason);
    }
}

struct TestClient {
    peer: usize,
    seated: Seated,
    welcome: Welcome,
    world: ClientWorld,
    /// The baseline of the first snapshot after the Welcome (`None`: full).
    first_baseline: Option<Tick>,
}

/// What a Hello asks for and where it comes from.
#[derive(Default, Clone, Copy)]
struct JoinAs {
    spectator: bool,
    address: Option<IpAddr>,
    /// The player's name ("t" when empty).
    name: &'static str,
}

struct TestRoom {
    core: RoomCore<TestPeer>,
    out: Recorder,
}

impl TestRoom {
    fn new(slow_consumer_timeout_ms: u64, max_in_flight: usize) -> Self {
        Self::with_limits(Limits {
            slow_consumer_timeout_ms,
            outbound_queue_snapshots: max_in_flight,
            ..Limits::default()
        })
    }

    fn with_limits(limits: Limits) -> Self {
        Self::with_config(Walkers::DEFAULT_CONFIG, limits)
    }

    /// The default config with these settings added (TOML lines), and the default limits.
    fn with_settings(settings: &str) -> Self {
        let config = format!("{}{settings}\n", Walkers::DEFAULT_CONFIG);
        Self::with_config(&config, Limits::default())
    }

    fn with_config(config: &str, limits: Limits) -> Self {
        let config = GameConfig::parse(config).expect("a config");
        let core = RoomCore::new(
            config,
            &Games::new().with::<Walkers>(),
            limits,
            Arc::new(RoomStatus::new("test", "walkers", "line")),
            Metrics::new().room(),
            Instant::now(),
        )
        .expect("the game starts");
        Self {
            core,
            out: Recorder::default(),
        }
    }

    fn tick(&mut self, now: Instant) {
        self.core.tick(now, SentAt(0), &mut self.out);
    }

    /// Delivers and decodes what the room sent this client.
    fn deliver(&mut self, client: &TestClient) -> Vec<ServerMessage> {
        self.deliver_to(client.peer)
    }

    fn deliver_to(&mut self, peer: usize) -> Vec<ServerMessage> {
        let sent = self.out.undelivered.remove(&peer).unwrap_or_default();
        sent.iter()
            .map(|bytes| codec::decode_server(bytes).expect("decodes"))
            .collect()
    }

    /// How the room let the client go, if it did: `Some(None)` when it left.
    fn disconnected(&self, client: &TestClient) -> Option<Option<CloseReason>> {
        self.out.disconnected.get(&client.peer).cloned()
    }

    /// Joins a spectator, and applies its first snapshot.
    fn join_spectator(&mut self, now: Instant) -> TestClient {
        let spectator = JoinAs {
            spectator: true,
            ..JoinAs::default()
        };
        self.try_join_as(now, None, ClientWorld::new(), spectator)
            .expect("joins")
    }

    fn join(&mut self, now: Instant) -> TestClient {
        self.try_join(now, None, ClientWorld::new())
            .expect("accepted")
    }

    /// Joins (or resumes, keeping `world`), and applies the first snapshot.
    fn try_join(
        &mut self,
        now: Instant,
        resume: Option<Resume>,
        world: ClientWorld,
    ) -> Result<TestClient, RejectReason> {
        self.try_join_as(now, resume, world, JoinAs::default())
    }

    /// [`Self::try_join`] with the Hello's role and the client's address.
    fn try_join_as(
        &mut self,
        now: Instant,
        resume: Option<Resume>,
        world: ClientWorld,
        join_as: JoinAs,
    ) -> Result<TestClient, RejectReason> {
        let peer = self.out.peers;
        self.out.peers += 1;
        let join = Join {
            name: if join_as.name.is_empty() {
                "t"
            } else {
                join_as.name
            }
            .into(),
            spectator: join_as.spectator,
            resume,
            schema_hash: None,
            address: join_as.address,
        };
        let seated = self
            .core
            .join(join, TestPeer(peer), &mut self.out)
            .map_err(|reason| reason.expect("the Welcome encodes"))?;
        self.tick(now);
        let messages = self.deliver_to(peer);
        let Some(ServerMessage::Welcome(welcome)) = messages.first() else {
            panic!("the Welcome comes first: {messages:?}");
        };
        let first_baseline = match messages.get(1) {
            Some(ServerMessage::Snapshot(s)) => s.baseline,
            other => panic!("then a snapshot: {other:?}"),
        };
        let mut world = world;
        world.set_layout(Arc::clone(self.core.game.layout()));
        let mut client = TestClient {
            peer,
            seated,
            welcome: welcome.clone(),
            world,
            first_baseline,
        };
        assert_eq!(client.apply(&messages[1..]), 1, "then the first snapshot");
        Ok(client)
    }

    /// The client sends input `sequence` (a step forward).
    fn input(&mut self, client: &TestClient, sequence: u32) {
        let input = InputMessage {
            sequence,
            lanes: vec![1],
        };
        self.core.input(client.seated.client_id, input);
    }

    /// The client's session reports its connection lost.
    fn lose(&mut self, client: &TestClient, now: Instant) {
        self.core
            .leave(client.seated.client_id, true, now, &mut self.out);
        self.tick(now);
    }

    fn player_exists(&self, client: &TestClient) -> bool {
        let player = client.welcome.player.expect("a player");
        self.core.game.world().get(player).is_some()
    }
}

impl TestClient {
    /// Applies snapshots; returns how many there were.
    fn apply(&mut self, messages: &[ServerMessage]) -> usize {
        for message in messages {
            let ServerMessage::Snapshot(s) = message else {
                panic!("not a snapshot: {message:?}")
            };
            assert_eq!(self.world.apply(s), Ok(Applied::Updated));
        }
        messages.len()
    }
}

/// A resume that asks for a full snapshot (these tests resume with an empty world).
fn resume_of(client: &TestClient) -> Option<Resume> {
    Some(Resume {
        token: client.welcome.resume_token,
        last_applied: None,
    })
}

#[test]
fn a_client_that_is_behind_is_skipped_and_too_long_behind_kicked() {
    let mut test = TestRoom::new(1000, 2);
    let t0 = Instant::now();
    let mut client = test.join(t0);
    test.tick(t0);
    test.tick(t0);
    test.tick(t0); // Two in flight (the writer has not run): skipped.
    let messages = test.deliver(&client);
    assert_eq!(client.apply(&messages), 2, "the skipped tick was not sent");
    // Two ticks passed since the last snapshot sent: the next is a delta against it.
    test.tick(t0 + Duration::from_millis(100));
    assert_eq!(client.apply(&test.deliver(&client)), 1);

    test.tick(t0 + Duration::from_millis(200));
    test.tick(t0 + Duration::from_millis(300));
    test.tick(t0 + Duration::from_millis(400)); // Behind since 400 ms.
    test.tick(t0 + Duration::from_millis(1300));
    assert_eq!(test.disconnected(&client), None, "behind for 900 ms only");
    test.tick(t0 + Duration::from_millis(1400));
    assert_eq!(
        test.disconnected(&client),
        Some(Some(CloseReason::SLOW_CONSUMER))
    );
    assert!(!test.player_exists(&client), "player despawned");
}

#[test]
fn many_inputs_in_one_tick_move_the_player_no_faster_than_the_cap() {
    let mut test = TestRoom::new(1000, 64);
    let now = Instant::now();
    let mut client = test.join(now);
    let x = |client: &TestClient| {
        let me = client.welcome.player.expect("a player");
        client.world.state().get(me).expect("own player").lanes[0]
    };
    let start = x(&client);
    for sequence in 1..=10 {
        test.input(&client, sequence);
    }
    test.tick(now);
    client.apply(&test.deliver(&client));
    let schema = client.welcome.schema.as_ref().expect("the schema");
    let step: i32 = codec::decode_rules(&schema.rules).expect("the game's rules");
    assert_eq!(
        x(&client) - start,
        step * test.core.limits.max_inputs_per_tick as i32
    );
    assert_eq!(client.world.last_input(), 2);
}

#[test]
fn a_lost_connection_resumes_the_same_player_with_a_delta_within_the_grace_window() {
    let mut test = TestRoom::new(1000, 64);
    let t0 = Instant::now();
    let mut client = test.join(t0);
    let player = client.welcome.player.expect("a player");
    for sequence in 1..=2 {
        test.input(&client, sequence);
    }
    test.tick(t0);
    client.apply(&test.deliver(&client));
    let token = client.welcome.resume_token;
    let last_applied = client.world.tick();
    test.lose(&client, t0);
    test.tick(t0);
    assert!(
        test.core.game.world().get(player).is_some(),
        "the seat is kept"
    );

    let resume = Resume {
        token,
        last_applied,
    };
    let mut resumed = test
        .try_join(t0, Some(resume.clone()), client.world)
        .expect("resumed");
    assert_eq!(resumed.welcome.player, Some(player), "the same player");
    assert!(last_applied.is_some());
    assert_eq!(
        resumed.first_baseline, last_applied,
        "a delta from the last tick applied"
    );
    assert_ne!(resumed.welcome.resume_token, token, "a fresh token");
    assert_eq!(
        resumed.world.last_input(),
        2,
        "the input sequence continues"
    );
    test.input(&resumed, 3);
    test.tick(t0);
    resumed.apply(&test.deliver(&resumed));
    assert_eq!(resumed.world.last_input(), 3);

    assert_eq!(
        test.try_join(t0, Some(resume), ClientWorld::new()).err(),
        Some(RejectReason::ResumeExpired),
        "a token works once"
    );
}

#[test]
fn a_room_restored_from_its_save_on_another_node_gives_each_seat_back_with_a_full_snapshot() {
    let mut test = TestRoom::new(1000, 64);
    let t0 = Instant::now();
    let mut client = test.join(t0);
    let watcher = test.join_spectator(t0);
    let player = client.welcome.player.expect("a player");
    for sequence in 1..=2 {
        test.input(&client, sequence);
    }
    test.tick(t0);
    client.apply(&test.deliver(&client));
    let saved = test.core.save_state().encode().expect("encodes");
    let saved = tickwire_game::SavedRoom::decode(&saved).expect("decodes");
    let world_at_save = test.core.game.world().clone();
    // The old node goes on for two ticks after its save before it dies.
    test.tick(t0);
    test.tick(t0);
    client.apply(&test.deliver(&client));

    let restored = RoomCore::restore(
        &saved,
        GameConfig::parse(&saved.config).expect("the save's config"),
        &Games::new().with::<Walkers>(),
        Limits::default(),
        Arc::new(RoomStatus::new("test", "walkers", "line")),
        Metrics::new().room(),
        t0,
    )
    .expect("loads")
    .expect("walkers rooms move");
    let mut moved = TestRoom {
        core: restored,
        out: Recorder::default(),
    };
    assert_eq!(moved.core.game.tick().0 + 2, test.core.game.tick().0);
    assert_eq!(moved.core.game.world(), &world_at_save);
    assert_eq!(moved.core.seat_counts().detached, 2, "both seats kept");

    // The new node has ticked past the client's last tick: its own tick of that number is
    // no baseline for a client that saw the old node's.
    moved.tick(t0);
    moved.tick(t0);
    let last_applied = client.world.tick();
    assert!(last_applied.is_some_and(|t| moved.core.replication.has(t)));
    let resume = Resume {
        token: client.welcome.resume_token,
        last_applied,
    };
    let mut resumed = moved
        .try_join(t0, Some(resume.clone()), client.world)
        .expect("resumed on the new node");
    assert_eq!(resumed.welcome.player, Some(player), "the same player");
    assert_eq!(resumed.first_baseline, None, "a full snapshot");
    assert_eq!(
        resumed.world.last_input(),
        2,
        "its inputs go on from the save's"
    );
    moved.input(&resumed, 3);
    moved.tick(t0);
    resumed.apply(&moved.deliver(&resumed));
    assert_eq!(resumed.world.last_input(), 3);
    let spectator = moved
        .try_join_as(
            t0,
            resume_of(&watcher),
            ClientWorld::new(),
            JoinAs::default(),
        )
        .expect("the spectator resumes");
    assert_eq!(spectator.welcome.player, None, "still a spectator");
    assert_eq!(
        moved.try_join(t0, Some(resume), ClientWorld::new()).err(),
        Some(RejectReason::ResumeExpired),
        "a token works once"
    );
}

#[test]
fn a_seat_is_despawned_when_the_grace_window_ends() {
    let mut test = TestRoom::new(1000, 64);
    let t0 = Instant::now();
    let client = test.join(t0);
    let player = client.welcome.player.expect("a player");
    let grace = Duration::from_millis(test.core.limits.resume_grace_ms);
    test.lose(&client, t0);
    test.tick(t0 + grace);
    assert!(test.core.game.world().get(player).is_none(), "despawned");
    let resume = Resume {
        token: client.welcome.resume_token,
        last_applied: client.world.tick(),
    };
    assert_eq!(
        test.try_join(t0 + grace, Some(resume), ClientWorld::new())
            .err(),
        Some(RejectReason::ResumeExpired)
    );
}

#[test]
fn seats_kept_for_a_resume_count_toward_max_clients() {
    let mut test = TestRoom::with_limits(Limits {
        max_clients: 2,
        ..Limits::default()
    });
    let t0 = Instant::now();
    let (a, b) = (test.join(t0), test.join(t0));
    test.lose(&a, t0);
    test.lose(&b, t0);
    assert_eq!(
        test.core.seat_counts(),
        SeatCounts {
            players: 0,
            spectators: 0,
            detached: 2
        }
    );
    assert_eq!(
        test.try_join(t0, None, ClientWorld::new()).err(),
        Some(RejectReason::RoomFull),
        "two seats wait for a resume in a room of two"
    );
    let a = test
        .try_join(t0, resume_of(&a), ClientWorld::new())
        .expect("a resume still fits: its seat is already counted");
    assert!(test.player_exists(&a));
    let grace = Duration::from_millis(test.core.limits.resume_grace_ms);
    test.tick(t0 + grace);
    assert!(!test.player_exists(&b), "b's seat expired");
    test.join(t0 + grace);
}

#[test]
fn an_address_keeps_a_bounded_number_of_seats_for_a_resume_giving_up_its_oldest() {
    let mut test = TestRoom::with_limits(Limits {
        max_detached_seats_per_ip: 2,
        ..Limits::default()
    });
    let t0 = Instant::now();
    let churner = JoinAs {
        spectator: false,
        address: Some([203, 0, 113, 7].into()),
        ..JoinAs::default()
    };
    let neighbour = JoinAs {
        address: Some([203, 0, 113, 8].into()),
        ..churner
    };
    let mut churned = Vec::new();
    for i in 0..4 {
        let now = t0 + Duration::from_millis(i);
        let client = test
            .try_join_as(now, None, ClientWorld::new(), churner)
            .expect("joins");
        test.lose(&client, now);
        churned.push(client);
    }
    let other = test
        .try_join_as(t0, None, ClientWorld::new(), neighbour)
        .expect("joins");
    test.lose(&other, t0 + Duration::from_millis(5));
    assert_eq!(
        test.core.seat_counts().detached,
        3,
        "two of the churner's, one other"
    );
    let kept: Vec<bool> = churned
        .iter()
        .map(|c| test.player_exists(c))
        .collect::<Vec<_>>();
    assert_eq!(
        kept,
        [false, false, true, true],
        "the oldest two were given up"
    );
    assert!(
        test.player_exists(&other),
        "another address is not affected"
    );
    assert_eq!(
        test.try_join(t0, resume_of(&churned[0]), ClientWorld::new())
            .err(),
        Some(RejectReason::ResumeExpired)
    );
    test.try_join(t0, resume_of(&churned[3]), ClientWorld::new())
        .expect("a kept seat resumes");
}

#[test]
fn a_resume_keeps_the_seats_role_whatever_its_hello_says() {
    let mut test = TestRoom::new(1000, 64);
    let t0 = Instant::now();
    let spectator = test
        .try_join_as(
            t0,
            None,
            ClientWorld::new(),
            JoinAs {
                spectator: true,
                address: None,
                ..JoinAs::default()
            },
        )
        .expect("joins");
    assert!(spectator.seated.spectator);
    test.lose(&spectator, t0);
    let resumed = test
        .try_join_as(
            t0,
            resume_of(&spectator),
            ClientWorld::new(),
            JoinAs::default(),
        )
        .expect("resumes");
    assert!(resumed.seated.spectator, "still a spectator");
    assert_eq!(resumed.welcome.player, None, "no player spawned");

    let player = test.join(t0);
    test.lose(&player, t0);
    let resumed = test
        .try_join_as(
            t0,
            resume_of(&player),
            ClientWorld::new(),
            JoinAs {
                spectator: true,
                address: None,
                ..JoinAs::default()
            },
        )
        .expect("resumes");
    assert!(!resumed.seated.spectator, "still a player");
    assert_eq!(resumed.welcome.player, player.welcome.player);
}

#[test]
fn requested_full_snapshots_are_sent_at_most_once_per_interval() {
    let mut test = TestRoom::new(1000, 64);
    let t0 = Instant::now();
    let client = test.join(t0);
    let interval = Duration::from_millis(test.core.limits.full_snapshot_interval_ms);
    let mut fulls_at = Vec::new();
    // A request every tick for 2.5 intervals.
    let ticks = (interval.as_millis() * 5 / 2 / 33) as u64;
    for i in 1..=ticks {
        let now = t0 + Duration::from_millis(33 * i);
        test.core.request_full(client.seated.client_id);
        test.tick(now);
        for message in test.deliver(&client) {
            let ServerMessage::Snapshot(snapshot) = message else {
                panic!("a snapshot");
            };
            if snapshot.baseline.is_none() {
                fulls_at.push(now - t0);
            }
        }
    }
    // The join's full snapshot went out at t0: the next ones wait a whole interval each.
    assert_eq!(fulls_at.len(), 2, "{fulls_at:?}");
    assert!(fulls_at[0] >= interval && fulls_at[0] < interval + Duration::from_millis(34));
    assert!(fulls_at[1] - fulls_at[0] >= interval);
}

#[test]
fn a_resume_while_the_old_connection_is_still_seated_closes_the_old_one() {
    let mut test = TestRoom::new(1000, 64);
    let t0 = Instant::now();
    let client = test.join(t0);
    let resumed = test
        .try_join(t0, resume_of(&client), ClientWorld::new())
        .expect("resumes");
    assert_eq!(
        test.disconnected(&client),
        Some(Some(CloseReason::RESUMED_ELSEWHERE))
    );
    assert_eq!(resumed.welcome.player, client.welcome.player);
    assert_eq!(test.core.seat_counts().players, 1, "one seat, not two");
}

#[test]
fn inputs_past_the_queue_are_dropped_and_the_rest_wait_for_later_ticks() {
    let queue = 4;
    let mut test = TestRoom::with_limits(Limits {
        input_queue_frames: queue,
        ..Limits::default()
    });
    let t0 = Instant::now();
    let mut client = test.join(t0);
    for sequence in 1..=10 {
        test.input(&client, sequence);
    }
    let per_tick = test.core.limits.max_inputs_per_tick as u32;
    let mut applied = Vec::new();
    for _ in 0..4 {
        test.tick(t0);
        client.apply(&test.deliver(&client));
        applied.push(client.world.last_input());
    }
    let queued = queue as u32;
    let expected: Vec<u32> = (1..=4).map(|t| (t * per_tick).min(queued)).collect();
    assert_eq!(applied, expected, "{per_tick} a tick, {queued} kept of 10");
}

#[test]
fn with_per_client_visibility_each_client_holds_what_it_sees_checksums_and_all() {
    let mut test = TestRoom::with_settings("sight = 10");
    let t0 = Instant::now();
    let mut a = test.join(t0);
    let mut b = test.join(t0);
    let mut watcher = test.join_spectator(t0);
    let (a_player, b_player) = (a.welcome.player.expect("a"), b.welcome.player.expect("b"));
    // Every snapshot applies only if its checksum matches what the client holds.
    let tick_all = |test: &mut TestRoom, clients: [&mut TestClient; 3]| {
        test.tick(t0);
        for client in clients {
            client.apply(&test.deliver(client));
        }
    };
    let held = |client: &TestClient, id| client.world.state().get(id).is_some();
    tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    assert!(held(&b, a_player) && held(&a, b_player), "side by side");

    // a walks 15 units away (5 a step, 2 steps a tick): out of b's sight, b out of a's.
    for sequence in 1..=3 {
        test.input(&a, sequence);
    }
    tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    assert!(!held(&b, a_player), "removed on b");
    assert!(!held(&a, b_player), "removed on a");
    assert!(held(&a, a_player), "a client always holds its own player");
    assert!(
        held(&watcher, a_player) && held(&watcher, b_player),
        "spectators see all"
    );

    // b catches up: a comes back into b's view, in full.
    for sequence in 1..=2 {
        test.input(&b, sequence);
    }
    tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    assert!(held(&b, a_player) && held(&a, b_player));
    assert_eq!(
        b.world.state().get(a_player),
        test.core.game.world().get(a_player),
        "created in full, as the server holds it"
    );

    // A resume continues from the view the seat held.
    let last_applied = a.world.tick();
    test.lose(&a, t0);
    let resume = Some(Resume {
        token: a.welcome.resume_token,
        last_applied,
    });
    let resumed = test.try_join(t0, resume, a.world).expect("resumes");
    assert_eq!(
        resumed.first_baseline, last_applied,
        "a delta from its view"
    );
}

#[test]
fn owner_only_components_reach_only_their_owner() {
    let mut test = TestRoom::with_settings("rich = true");
    let t0 = Instant::now();
    let mut a = test.join(t0);
    let mut b = test.join(t0);
    let mut watcher = test.join_spectator(t0);
    let (a_player, b_player) = (a.welcome.player.expect("a"), b.welcome.player.expect("b"));
    let layout = Arc::clone(test.core.game.layout());
    let coins = |client: &TestClient, id| {
        let entity = client.world.state().get(id).expect("held");
        entity.component::<Purse>(&layout).expect("a purse").coins
    };
    // Every snapshot applies only if its checksum matches what the client holds. Returns how
    // many entities were created or changed on b.
    let tick_all = |test: &mut TestRoom, clients: [&mut TestClient; 3]| {
        let mut changed_on_b = 0;
        test.tick(t0);
        for (index, client) in clients.into_iter().enumerate() {
            let messages = test.deliver(client);
            for message in &messages {
                if let (1, ServerMessage::Snapshot(s)) = (index, message) {
                    let delta = s.delta.unpack(&layout).expect("unpacks");
                    changed_on_b += delta.changed.len() + delta.created.len();
                }
            }
            client.apply(&messages);
        }
        changed_on_b
    };
    tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    assert_eq!((coins(&a, a_player), coins(&b, b_player)), (10, 10), "own");
    assert_eq!((coins(&a, b_player), coins(&b, a_player)), (0, 0), "hidden");
    assert_eq!(coins(&watcher, a_player), 0, "hidden from spectators");

    // a stands still and spends inputs: only its purse changes, which b does not see at all.
    for sequence in 1..=2 {
        let stand = InputMessage {
            sequence,
            lanes: vec![0],
        };
        test.core.input(a.seated.client_id, stand);
    }
    let changed_on_b = tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    assert_eq!(coins(&a, a_player), 12, "the owner sees its purse change");
    assert_eq!(coins(&b, a_player), 0);
    assert_eq!(coins(&watcher, a_player), 0);
    assert_eq!(changed_on_b, 0, "a hidden change is no change for others");

    // a walks: others see it move, its purse still hidden.
    test.input(&a, 3);
    let changed_on_b = tick_all(&mut test, [&mut a, &mut b, &mut watcher]);
    assert_eq!(changed_on_b, 1);
    let x = |client: &TestClient| {
        let entity = client.world.state().get(a_player).expect("held");
        entity.component::<Dot>(&layout).expect("a dot").x
    };
    assert_eq!((x(&a), x(&b), x(&watcher)), (5, 5, 5));
    assert_eq!((coins(&a, a_player), coins(&b, a_player)), (13, 0));
}

#[test]
fn a_budget_is_never_exceeded_over_a_second_nothing_starves_and_the_own_player_is_current() {
    let budget = 1024;
    let mut test =
        TestRoom::with_settings(&format!("wander = true\nbudget_bytes_per_sec = {budget}"));
    let t0 = Instant::now();
    let mut players: Vec<TestClient> = (0..40).map(|_| test.join(t0)).collect();
    let watcher = test.join_spectator(t0);
    players.push(watcher);
    // Whatever reached the clients while the others joined.
    for client in &mut players {
        let messages = test.deliver(client);
        client.apply(&messages);
    }
    // The server's world at each tick, to find how old each client's copy of an entity is.
    let mut history: Vec<(Tick, tickwire_shared::World)> = Vec::new();
    let mut sent: Vec<Vec<usize>> = vec![Vec::new(); players.len()];
    let (mut stalest, mut waited) = (0, 0);
    let ticks = 150;
    for _ in 0..ticks {
        test.tick(t0);
        let now = test.core.game.tick();
        history.push((now, test.core.game.world().clone()));
        for (index, client) in players.iter_mut().enumerate() {
            let messages = test
                .out
                .undelivered
                .remove(&client.peer)
                .unwrap_or_default();
            sent[index].push(messages.iter().map(Bytes::len).sum());
            let decoded: Vec<ServerMessage> = messages
                .iter()
                .map(|bytes| codec::decode_server(bytes).expect("decodes"))
                .collect();
            // Applies only if the checksum matches what the client holds.
            client.apply(&decoded);
            let server = test.core.game.world();
            if let Some(own) = client.welcome.player {
                assert_eq!(
                    client.world.state().get(own),
                    server.get(own),
                    "own player current"
                );
            }
            for (id, _) in server.iter() {
                let held = client.world.state().get(id);
                // Ticks since the server last had the entity as the client holds it.
                let age = history
                    .iter()
                    .rev()
                    .position(|(_, world)| held.is_some() && world.get(id) == held)
                    .unwrap_or(history.len());
                if age > 0 {
                    waited += 1;
                }
                stalest = stalest.max(age);
            }
        }
    }
    // A second's share plus the burst a client may save up.
    let limit = budget + budget * 4 / 30;
    for (index, bytes) in sent.iter().enumerate() {
        // Past the first tick (the Welcome's snapshot came with the join), any 30 ticks.
        for second in bytes.windows(30) {
            let total: usize = second.iter().sum();
            assert!(
                total <= limit,
                "client {index} got {total} bytes in a second, over {limit}"
            );
        }
    }
    assert!(
        waited > 0,
        "the budget held changes back: the test means something"
    );
    assert!(
        stalest <= 30 + 3,
        "an entity waited {stalest} ticks, past a second and the bound"
    );
    let total: usize = sent.iter().flatten().sum();
    eprintln!(
        "stalest {stalest} ticks; {total} bytes to {} clients over {ticks} ticks",
        players.len()
    );
}

#[test]
fn players_go_back_to_the_shared_snapshot_when_nothing_is_hidden_any_more() {
    let mut test = TestRoom::with_settings("rich = true");
    let t0 = Instant::now();
    let rich = test.join(t0);
    let poor_hello = JoinAs {
        name: "poor",
        ..JoinAs::default()
    };
    let mut poor = test
        .try_join_as(t0, None, ClientWorld::new(), poor_hello)
        .expect("joins");
    let poor_id = poor.seated.client_id;
    let own_view = |test: &TestRoom| {
        let seat = &test.core.clients[&poor_id].seat;
        seat.view.is_some()
    };
    test.tick(t0);
    poor.apply(&test.deliver(&poor));
    assert!(
        own_view(&test),
        "while the rich one is here, a view of its own"
    );

    // The rich player leaves for good: nothing is hidden any more.
    test.core
        .leave(rich.seated.client_id, false, t0, &mut test.out);
    for _ in 0..3 {
        test.tick(t0);
        // Applies only if the checksum matches what the client holds.
        poor.apply(&test.deliver(&poor));
    }
    assert!(!own_view(&test), "back on the shared snapshot");
    assert_eq!(
        poor.world.state(),
        test.core.game.world(),
        "holding the whole world"
    );
}

#[test]
fn clients_whose_views_coincide_share_one_snapshot() {
    let mut test = TestRoom::with_settings("sight = 10");
    let t0 = Instant::now();
    let mut a = test.join(t0);
    let mut watchers = [test.join_spectator(t0), test.join_spectator(t0)];
    for watcher in &mut watchers {
        let messages = test.deliver(watcher);
        watcher.apply(&messages);
    }
    for sequence in 1..=3 {
        test.input(&a, sequence);
        test.tick(t0);
        a.apply(&test.deliver(&a));
        let frames: Vec<Bytes> = watchers
            .iter()
            .map(|w| test.out.undelivered.remove(&w.peer).expect("a snapshot"))
            .map(|mut sent| sent.pop().expect("one"))
            .collect();
        // Spectators' frames are the encoded snapshot itself: one buffer means one encoding.
        assert_eq!(
            frames[0].as_ptr(),
            frames[1].as_ptr(),
            "one snapshot for both"
        );
        for (watcher, frame) in watchers.iter_mut().zip(&frames) {
            let message = codec::decode_server(frame).expect("decodes");
            // Applies only if the checksum matches what each holds.
            watcher.apply(&[message]);
        }
    }
    let player = a.welcome.player.expect("a player");
    for watcher in &watchers {
        assert_eq!(watcher.world.state(), test.core.game.world());
        assert!(watcher.world.state().get(player).is_some());
    }
}
