//! The browser pages for real: headless Debian chromium, driven over WebDriver (chromedriver),
//! opens the pages the server serves from assets/web, built on the web SDK:
//! - the arena page joins the room three bots play in, moves its player with the keyboard and
//!   draws everyone (and a gunner's projectiles), without a desync;
//! - the race page drives its car with the keyboard and counts a lap on the short test track;
//! - the inspector shows a room of a game without a page of its own, its fields changing;
//! - a page joins with `?token=` a server that requires one (and is refused without);
//! - in a cluster, a page opened on one node follows the redirect to its room's node, and when
//!   that node drains, resumes the same player on the other.
//!
//! Each leaves a screenshot in target/browser-screenshots/. Ignored by default (they need
//! chromium, chromedriver and the built wasm); `.ci/run` runs them, one at a time:
//!   bash assets/web/build.sh
//!   cargo test -p tickwire-tests browser -- --ignored --nocapture --test-threads=1

use crate::util::{TestServer, setting, test_config};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use std::cell::Cell;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tickwire_arena::{Buttons, Controls};
use tickwire_bot::Bot;
use tickwire_race::Drive;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};

/// The room the page and the bots share.
const ROOM: &str = "browser-e2e";
const BOTS: usize = 3;
/// How long the page gets to load, fetch and compile the wasm, connect and show its player.
const PAGE_READY: Duration = Duration::from_secs(20);
/// How long KeyD is held.
const HOLD: Duration = Duration::from_millis(700);

/// The workspace root (tests/ is one of its members).
fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

/// A program from the environment variable `var`, else `/usr/bin/NAME` if present, else `NAME`
/// on the PATH.
fn program(var: &str, name: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(var) {
        return path.into();
    }
    let usr_bin = Path::new("/usr/bin").join(name);
    if usr_bin.exists() {
        usr_bin
    } else {
        name.into()
    }
}

/// chromedriver on a free loopback port, in its own process group with the browsers it starts;
/// the whole group is killed on drop, so a failing test leaves no chromium behind.
struct Chromedriver {
    child: Child,
    port: u16,
}

impl Chromedriver {
    async fn start() -> Self {
        let port = {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").expect("bind port 0");
            probe.local_addr().expect("local addr").port()
        };
        let binary = program("CHROMEDRIVER", "chromedriver");
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start {} ({e}): install the Debian packages chromium chromium-driver",
                    binary.display()
                )
            });
        let driver = Self { child, port };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if driver.ready().await {
                return driver;
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver on port {port} not ready within 20 s"
            );
            sleep(Duration::from_millis(100)).await;
        }
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Whether `GET /status` says it is ready for a new session. (chromedriver keeps the
    /// connection open after its response, so the reply is read until it holds the whole body.)
    async fn ready(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)).await else {
            return false;
        };
        let request = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if stream.write_all(request.as_bytes()).await.is_err() {
            return false;
        }
        let mut response = Vec::new();
        let read = async {
            let mut chunk = [0; 4096];
            loop {
                match stream.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => response.extend_from_slice(&chunk[..n]),
                }
                if response.ends_with(b"}") {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(2), read).await;
        let response = String::from_utf8_lossy(&response);
        response.starts_with("HTTP/1.1 200") && response.contains("\"ready\":true")
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        // The group's id is chromedriver's pid (process_group(0)).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A fresh, empty chromium profile folder, removed on drop.
struct Profile(PathBuf);

impl Profile {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("tickwire-chromium-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the chromium profile dir");
        Self(dir)
    }
}

impl Drop for Profile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bots playing in the background (walking circles, not firing, so the page's player is never
/// hit and respawned mid-test); aborted on drop.
struct Players {
    tasks: Vec<JoinHandle<()>>,
    snapshots: Arc<AtomicU64>,
}

impl Players {
    async fn join(url: &str, count: usize) -> Self {
        let snapshots = Arc::new(AtomicU64::new(0));
        let mut tasks = Vec::new();
        for i in 0..count {
            let mut bot = Bot::connect(url, &format!("bot{i}"))
                .await
                .expect("a bot joins the page's room");
            let snapshots = Arc::clone(&snapshots);
            tasks.push(tokio::spawn(async move {
                let phase = i as f32 * 2.1;
                while let Ok(tick) = bot.next_snapshot().await {
                    snapshots.fetch_add(1, Ordering::Relaxed);
                    // A full circle every ~4 s at 30 ticks/s.
                    let angle = phase + tick.0 as f32 * 0.05;
                    let controls = Controls {
                        move_x: (angle.cos() * 127.0) as i8,
                        move_y: (angle.sin() * 127.0) as i8,
                        aim: 0,
                        buttons: Buttons::default(),
                    };
                    if bot.send_input(&controls.frame(0)).await.is_err() {
                        break;
                    }
                }
            }));
        }
        Self { tasks, snapshots }
    }
}

impl Drop for Players {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// The page's test contract, `window.tickwire` (null before the page sets it).
async fn page_state(browser: &Client) -> Value {
    browser
        .execute("return window.tickwire ?? null;", vec![])
        .await
        .expect("the page runs a script")
}

fn number(state: &Value, key: &str) -> f64 {
    state[key]
        .as_f64()
        .unwrap_or_else(|| panic!("window.tickwire.{key} is not a number: {state}"))
}

fn me_x(state: &Value) -> f64 {
    state["me"]["x"]
        .as_f64()
        .unwrap_or_else(|| panic!("window.tickwire.me.x is not a number: {state}"))
}

/// Holds a key for `duration` with WebDriver actions (key down, pause, key up).
async fn hold_key(browser: &Client, key: char, duration: Duration) {
    let hold = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key })
        .pause(duration)
        .then(KeyAction::Up { value: key });
    browser
        .perform_actions(hold)
        .await
        .unwrap_or_else(|e| panic!("WebDriver holds the {key:?} key: {e}"));
}

/// Polls the page every 100 ms until `done` holds; panics with the last state after `within`.
async fn until(
    browser: &Client,
    within: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let state = page_state(browser).await;
        if done(&state) {
            return state;
        }
        if Instant::now() > deadline {
            panic!("timed out after {within:?} waiting until {what}; window.tickwire = {state}");
        }
        sleep(Duration::from_millis(100)).await;
    }
}

/// A headless chromium session with its chromedriver and profile, all gone on drop.
struct Browser {
    client: Client,
    _driver: Chromedriver,
    _profile: Profile,
}

impl Browser {
    async fn start() -> Self {
        let built = workspace_root().join("assets/web/sdk/wasm/tickwire_web_bg.wasm");
        assert!(
            built.is_file(),
            "{} is missing: run bash assets/web/build.sh first",
            built.display()
        );
        let driver = Chromedriver::start().await;
        let profile = Profile::new();
        let chromium = program("CHROMIUM", "chromium");
        let capabilities = json!({
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    format!("--user-data-dir={}", profile.0.display()),
                    "--window-size=1024,768",
                ],
            },
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        let client = ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&driver.url())
            .await
            .expect("chromedriver starts a headless chromium session");
        Self {
            client,
            _driver: driver,
            _profile: profile,
        }
    }

    /// Saves what the page shows as target/browser-screenshots/NAME.png.
    async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.expect("a screenshot");
        let dir = workspace_root().join("target/browser-screenshots");
        std::fs::create_dir_all(&dir).expect("create target/browser-screenshots");
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).expect("write the screenshot");
        println!("screenshot: {} ({} bytes)", path.display(), png.len());
    }

    async fn close(self) {
        self.client
            .close()
            .await
            .expect("the browser session closes");
    }
}

impl std::ops::Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// The stock games with the repository's configs (race-short, parity-320, ...) and the pages.
fn pages_config() -> tickwire_server::ServerConfig {
    let mut config = test_config();
    config.web_dir = Some(workspace_root().join("assets/web"));
    config.configs = tickwire_server::load_configs(&workspace_root().join("assets/scenarios"))
        .expect("the repository's configs load");
    config
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and the built wasm (bash assets/web/build.sh); .ci/run runs it"]
async fn the_arena_page_connects_moves_and_draws_the_bots() {
    let config = pages_config();
    let arena = config.game.clone();
    let server = TestServer::start_with(config).await;
    let bots = Players::join(&server.room_url(ROOM, None), BOTS).await;
    let browser = Browser::start().await;

    // The lobby sends `/?room=` to the page of the room's game.
    let page = format!("http://{}/?room={ROOM}&name=browser", server.addr);
    let started = Instant::now();
    browser.goto(&page).await.expect("the page loads");
    let ready = until(&browser, PAGE_READY, "connected with a player", |s| {
        s["connected"] == Value::Bool(true) && s["me"].is_object()
    })
    .await;
    println!(
        "page connected with its player after {:?}: {ready}",
        started.elapsed()
    );

    // Hold KeyD: the player walks toward +x at `speed` units/s. A fifth of the ideal distance is
    // a sound lower bound (input and snapshot latency, the key's first frame). Spawned too close
    // to the right wall for that, it first walks left (KeyA, the page's -x key).
    let ideal = setting(&arena, &["player", "speed"]) * HOLD.as_secs_f64();
    let right_wall = setting(&arena, &["arena", "width"]) - setting(&arena, &["player", "radius"]);
    let mut start = ready;
    if right_wall - me_x(&start) < ideal {
        println!(
            "spawned near the right wall at x {:.1}: walking left first",
            me_x(&start)
        );
        let spawned_x = me_x(&start);
        hold_key(&browser, 'a', Duration::from_secs(1)).await;
        // The baseline is where the player came to rest: left of the spawn, and within half a
        // unit of the previous poll's x (walking covers `speed / 10` units between polls).
        let previous_x = Cell::new(f64::NAN);
        start = until(
            &browser,
            Duration::from_secs(5),
            "me.x settles after walking left",
            |s| {
                let x = s["me"]["x"].as_f64().unwrap_or(f64::NAN);
                x < spawned_x && (x - previous_x.replace(x)).abs() < 0.5
            },
        )
        .await;
    }
    let x0 = me_x(&start);
    let frames0 = number(&start, "frames");
    let expected = (ideal / 5.0).min((right_wall - x0) / 2.0);
    hold_key(&browser, 'd', HOLD).await;
    let moved = until(
        &browser,
        Duration::from_secs(3),
        &format!("me.x grows by {expected:.1} from {x0:.1}"),
        |s| s["me"]["x"].as_f64().is_some_and(|x| x >= x0 + expected),
    )
    .await;
    println!(
        "KeyD held {HOLD:?}: me.x {x0:.1} -> {:.1} (at least {expected:.1} expected, ideal {ideal:.1})",
        me_x(&moved)
    );

    let drawn = until(
        &browser,
        Duration::from_secs(5),
        "the own player and the three bots are drawn",
        |s| s["players_drawn"].as_u64().is_some_and(|n| n > BOTS as u64),
    )
    .await;
    assert!(
        number(&drawn, "frames") > frames0,
        "frames did not advance: {frames0} then {drawn}"
    );
    // Frames keep advancing, and the page keeps applying snapshots (half a second of game at
    // 30 Hz) without a desync.
    let (drawn_frames, drawn_tick) = (number(&drawn, "frames"), number(&drawn, "tick"));
    let last = until(
        &browser,
        Duration::from_secs(5),
        &format!("frames advance past {drawn_frames} and the tick reaches {drawn_tick} + 15"),
        |s| {
            s["frames"].as_f64().is_some_and(|f| f > drawn_frames)
                && s["tick"].as_f64().is_some_and(|t| t >= drawn_tick + 15.0)
        },
    )
    .await;
    assert_eq!(
        number(&last, "desyncs"),
        0.0,
        "the page saw a desync: {last}"
    );
    assert_eq!(
        last["connected"],
        Value::Bool(true),
        "the page disconnected: {last}"
    );
    assert!(
        bots.snapshots.load(Ordering::Relaxed) > 0,
        "the bots received no snapshots"
    );
    println!("final page state: {last}");

    // A gunner joins and fires: its projectiles fly as trajectories the page draws where they
    // are (the wasm build of ClientSession::draw), still without a desync.
    let mut gunner = Bot::connect(&server.room_url(ROOM, None), "gunner")
        .await
        .expect("the gunner joins");
    let fire = Controls {
        buttons: Buttons(Buttons::FIRE),
        ..Controls::default()
    };
    let gunner_task = tokio::spawn(async move {
        while gunner.next_snapshot().await.is_ok() {
            if gunner.send_input(&fire.frame(0)).await.is_err() {
                break;
            }
        }
    });
    let shot = until(
        &browser,
        Duration::from_secs(5),
        "a projectile is drawn",
        |s| s["projectiles_drawn"].as_u64().is_some_and(|n| n > 0),
    )
    .await;
    gunner_task.abort();
    assert_eq!(
        number(&shot, "desyncs"),
        0.0,
        "the page saw a desync: {shot}"
    );
    println!("with the gunner firing: {shot}");

    browser.screenshot("arena").await;
    browser.close().await;
    drop(bots);
    server.stop().await.expect("the server stops cleanly");
}

/// Race bots in `room`, weaving at part throttle; aborted on drop.
async fn race_bots(url: &str, count: usize) -> Vec<JoinHandle<()>> {
    let mut tasks = Vec::new();
    for i in 0..count {
        let mut bot = Bot::connect(url, &format!("racer{i}"))
            .await
            .expect("a bot joins the race");
        tasks.push(tokio::spawn(async move {
            while let Ok(tick) = bot.next_snapshot().await {
                let drive = Drive {
                    throttle: 60,
                    steer: if tick.0 / 30 % 2 == 0 { 90 } else { -90 },
                };
                if bot.send_input(&drive).await.is_err() {
                    break;
                }
            }
        }));
    }
    tasks
}

fn laps(state: &Value) -> f64 {
    state["me"]["laps"].as_f64().unwrap_or(-1.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and the built wasm (bash assets/web/build.sh); .ci/run runs it"]
async fn the_race_page_drives_the_car_and_counts_a_lap() {
    let server = TestServer::start_with(pages_config()).await;
    let browser = Browser::start().await;
    // The page joins first: its car starts in the middle of the line, so driving straight
    // passes through both checkpoints of the short track (at x 80 and 320, y 100).
    let room = "race-e2e";
    let page = format!(
        "http://{}/?room={room}&game=race&scenario=race-short&name=driver",
        server.addr
    );
    browser.goto(&page).await.expect("the page loads");
    let ready = until(&browser, PAGE_READY, "the race page shows its car", |s| {
        s["connected"] == Value::Bool(true) && s["me"].is_object()
    })
    .await;
    println!("race page ready: {ready}");
    assert_eq!(ready["game"], "race", "routed to the race's page: {ready}");
    assert_eq!(
        ready["predicted"],
        Value::Bool(true),
        "the race module predicts: {ready}"
    );
    let bots = race_bots(&server.room_url(room, Some("race-short")), 2).await;

    // Full throttle: forward through the far checkpoint into the wall...
    let x0 = me_x(&ready);
    hold_key(&browser, 'w', Duration::from_millis(2500)).await;
    let moved = until(
        &browser,
        Duration::from_secs(3),
        "the car drove forward",
        |s| s["me"]["x"].as_f64().is_some_and(|x| x > x0 + 100.0),
    )
    .await;
    println!("W held 2.5 s: x {x0:.1} -> {:.1}", me_x(&moved));
    until(
        &browser,
        Duration::from_secs(5),
        "three cars are drawn",
        |s| s["cars_drawn"].as_u64().is_some_and(|n| n >= 3),
    )
    .await;
    // ...then in reverse back over the finish line: a lap.
    let mut state = moved;
    for _ in 0..8 {
        if laps(&state) >= 1.0 {
            break;
        }
        hold_key(&browser, 's', Duration::from_secs(1)).await;
        state = page_state(&browser).await;
    }
    let lapped = until(&browser, Duration::from_secs(3), "a lap counts", |s| {
        laps(s) >= 1.0
    })
    .await;
    println!("a lap counted: {lapped}");
    assert_eq!(
        number(&lapped, "desyncs"),
        0.0,
        "the page saw a desync: {lapped}"
    );
    browser.screenshot("race").await;
    browser.close().await;
    for bot in bots {
        bot.abort();
    }
    server.stop().await.expect("the server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and the built wasm (bash assets/web/build.sh); .ci/run runs it"]
async fn the_inspector_shows_a_room_of_a_game_without_a_page() {
    let server = TestServer::start_with(pages_config()).await;
    // parity-320: a world that moves by itself, for spectators; the parity game has no page.
    let room = "parity-e2e";
    let mut watcher = Bot::spectate(&server.room_url(room, Some("parity-320")), "watcher")
        .await
        .expect("a spectator opens the room");
    let watching = tokio::spawn(async move { while watcher.next_snapshot().await.is_ok() {} });
    let browser = Browser::start().await;
    browser
        .goto(&format!("http://{}/?room={room}", server.addr))
        .await
        .expect("the page loads");
    let ready = until(
        &browser,
        PAGE_READY,
        "the inspector lists the entities",
        |s| s["connected"] == Value::Bool(true) && s["rows"].as_u64().is_some_and(|n| n >= 320),
    )
    .await;
    println!(
        "inspector ready: {}",
        ready.to_string().chars().take(400).collect::<String>()
    );
    assert_eq!(ready["game"], "parity");
    assert!(
        number(&ready, "dots") >= 320.0,
        "a dot per positioned entity: {ready}"
    );
    assert_eq!(
        ready["player_id"],
        Value::Null,
        "the inspector joins as a spectator"
    );
    let url = browser.current_url().await.expect("a url");
    assert!(
        url.path().starts_with("/inspector/"),
        "routed to the inspector: {url}"
    );

    // The table's fields change as the world moves.
    let table = || async {
        browser
            .find(fantoccini::Locator::Css("#entities"))
            .await
            .expect("the table")
            .text()
            .await
            .expect("its text")
    };
    let before = table().await;
    assert!(
        before.contains("Body.pos"),
        "the table names the fields: {}",
        &before[..before.len().min(300)]
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    let after = loop {
        let now = table().await;
        if now != before {
            break now;
        }
        assert!(Instant::now() < deadline, "the table did not change in 5 s");
        sleep(Duration::from_millis(200)).await;
    };
    println!(
        "the table changed: {} -> {} characters",
        before.len(),
        after.len()
    );
    let last = page_state(&browser).await;
    assert_eq!(number(&last, "desyncs"), 0.0, "the inspector saw a desync");
    browser.screenshot("inspector").await;
    browser.close().await;
    watching.abort();
    server.stop().await.expect("the server stops cleanly");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and the built wasm (bash assets/web/build.sh); .ci/run runs it"]
async fn a_page_joins_with_a_token_where_the_server_requires_one() {
    let secret =
        tickwire_server::JoinSecret::new(b"the browser test's join secret").expect("long enough");
    let mut config = pages_config();
    config.join_secret = Some(secret.clone());
    let server = TestServer::start_with(config).await;
    let browser = Browser::start().await;
    let room = "tokens";

    browser
        .goto(&format!(
            "http://{}/games/arena/?room={room}&name=guest",
            server.addr
        ))
        .await
        .expect("the page loads");
    let refused = until(&browser, PAGE_READY, "the page is refused", |s| {
        s["status"]
            .as_str()
            .is_some_and(|s| s.starts_with("rejected"))
    })
    .await;
    println!("without a token: {}", refused["status"]);

    let expires_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_secs()
        + 300;
    let claims = tickwire_server::JoinClaims {
        player: "web-7".into(),
        room: room.into(),
        expires_unix,
    };
    let token = tickwire_server::join_token::mint(&secret, &claims).expect("mints");
    browser
        .goto(&format!(
            "http://{}/games/arena/?room={room}&name=member&token={token}",
            server.addr
        ))
        .await
        .expect("the page loads");
    let admitted = until(&browser, PAGE_READY, "the page plays with its token", |s| {
        s["connected"] == Value::Bool(true) && s["me"].is_object()
    })
    .await;
    println!("with a token: {admitted}");
    assert_eq!(number(&admitted, "desyncs"), 0.0);
    browser.screenshot("token").await;
    browser.close().await;
    server.stop().await.expect("the server stops cleanly");
}

/// The complete page of docs/EMBEDDING.md ("A complete page for a new game"), as written there.
fn guide_page() -> String {
    let guide = std::fs::read_to_string(workspace_root().join("docs/EMBEDDING.md"))
        .expect("docs/EMBEDDING.md");
    let section = guide
        .split_once("### A complete page for a new game")
        .expect("the guide has the section")
        .1;
    let page = section
        .split_once("```html\n")
        .and_then(|(_, rest)| rest.split_once("```"))
        .expect("the section has an html block")
        .0;
    page.to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and the built wasm (bash assets/web/build.sh); .ci/run runs it"]
async fn the_embedding_guides_minimal_page_plays() {
    let page = guide_page();
    let lines = page.lines().count();
    assert!(
        lines < 60,
        "the guide's page has {lines} lines, not under 60"
    );
    // Served beside the SDK, for the arena: its entities have Body.pos, its input move_x/move_y.
    let site = std::env::temp_dir().join(format!("tickwire-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&site);
    std::fs::create_dir_all(&site).expect("create the site");
    std::os::unix::fs::symlink(workspace_root().join("assets/web/sdk"), site.join("sdk"))
        .expect("link the SDK");
    std::fs::write(
        site.join("guide.html"),
        page.replace("\"mygame\"", "\"arena\""),
    )
    .expect("write the page");
    let mut config = pages_config();
    config.web_dir = Some(site.clone());
    let server = TestServer::start_with(config).await;
    let bots = Players::join(&server.room_url("guide", None), 2).await;
    let browser = Browser::start().await;
    browser
        .goto(&format!(
            "http://{}/guide.html?room=guide&name=reader",
            server.addr
        ))
        .await
        .expect("the page loads");
    let playing = until(&browser, PAGE_READY, "the guide's page plays", |s| {
        s["status"] == "playing"
            && s["player_id"].is_number()
            && s["entities_drawn"].as_u64().is_some_and(|n| n > 2)
    })
    .await;
    let tick = number(&playing, "tick");
    let later = until(&browser, Duration::from_secs(5), "15 more ticks", |s| {
        s["tick"].as_f64().is_some_and(|t| t >= tick + 15.0)
    })
    .await;
    println!("the guide's {lines}-line page: {later}");
    assert_eq!(number(&later, "desyncs"), 0.0, "a desync: {later}");
    browser.screenshot("guide").await;
    browser.close().await;
    drop(bots);
    server.stop().await.expect("the server stops cleanly");
    let _ = std::fs::remove_dir_all(&site);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, chromedriver and the built wasm (bash assets/web/build.sh); .ci/run runs it"]
async fn a_page_follows_its_room_to_another_node_when_its_node_drains() {
    let redis = crate::redis_server::RedisServer::start().await;
    let ttl = Duration::from_millis(900);
    let mut a = crate::cluster::node_with(&redis, "a", ttl, pages_config()).await;
    let b = crate::cluster::node_with(&redis, "b", ttl, pages_config()).await;
    // A bot opens the room on node a; the page is opened on node b.
    let bots = Players::join(&a.room_url(ROOM, None), 1).await;
    let browser = Browser::start().await;
    browser
        .goto(&format!(
            "http://{}/games/arena/?room={ROOM}&name=mover",
            b.addr
        ))
        .await
        .expect("the page loads");
    let before = until(
        &browser,
        PAGE_READY,
        "playing on node a, redirected there",
        |s| {
            s["connected"] == Value::Bool(true)
                && s["me"].is_object()
                && number(s, "redirects") >= 1.0
        },
    )
    .await;
    println!("page playing after a redirect: {before}");
    let player = before["player_id"].clone();
    assert!(player.is_number(), "a player: {before}");

    // Node a drains: the room is handed off, the page is told 1012 and resumes through node b.
    a.begin_shutdown();
    let after = until(
        &browser,
        Duration::from_secs(10),
        "resumed on node b",
        |s| s["connected"] == Value::Bool(true) && number(s, "resumes") >= 1.0,
    )
    .await;
    println!("page resumed after the drain: {after}");
    assert_eq!(after["player_id"], player, "the same player");
    assert_eq!(number(&after, "desyncs"), 0.0);
    let ticking = until(&browser, Duration::from_secs(5), "the world goes on", |s| {
        number(s, "tick") > number(&after, "tick")
    })
    .await;
    assert_eq!(
        b.room_players().await,
        vec![(ROOM.to_owned(), 1)],
        "the page's seat, on b"
    );
    let (_, located) = b.get(&format!("/rooms/{ROOM}/locate")).await;
    let located: Value = serde_json::from_str(&located).expect("JSON");
    assert_eq!(
        (located["node"].as_str(), located["epoch"].as_u64()),
        (Some("b"), Some(2))
    );
    println!("on node b: {located}; tick {}", number(&ticking, "tick"));
    browser.screenshot("cluster-drain").await;
    browser.close().await;
    drop(bots);
    a.stop().await.expect("the drained node stops cleanly");
    b.stop().await.expect("node b stops cleanly");
}
