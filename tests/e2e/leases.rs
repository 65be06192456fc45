//! Room leases on a real redis-server: of many concurrent acquires exactly one wins, epochs only
//! rise, and a holder whose lease is gone (expired, or taken over) has its renewals, saves and
//! release refused by the store itself.

use crate::redis_server::RedisServer;
use std::time::Duration;
use tickwire_server::cluster::lease_store::{Acquired, LeaseStore, Node, Owner};
use tokio::time::sleep;

async fn store(redis: &RedisServer, id: &str, ttl: Duration) -> LeaseStore {
    let node = Node {
        id: id.into(),
        url: format!("ws://{id}.test:7777"),
    };
    LeaseStore::connect(&redis.url(), node, ttl)
        .await
        .expect("connects to redis")
}

#[tokio::test]
async fn of_many_concurrent_acquires_exactly_one_wins() {
    let redis = RedisServer::start().await;
    let mut stores = Vec::new();
    for i in 0..20 {
        stores.push(store(&redis, &format!("node-{i}"), Duration::from_secs(30)).await);
    }
    let attempts = stores.iter().map(|s| {
        let s = s.clone();
        tokio::spawn(async move { (s.node().id.clone(), s.acquire("arena-1").await) })
    });
    let mut winners = Vec::new();
    let mut told = Vec::new();
    for attempt in attempts {
        let (node, result) = attempt.await.expect("the task runs");
        match result.expect("redis answers") {
            Acquired::Mine(lease) => winners.push((node, lease.epoch)),
            Acquired::Held(owner) => told.push(owner),
        }
    }
    assert_eq!(winners.len(), 1, "one winner: {winners:?}");
    let (winner, epoch) = winners.pop().expect("a winner");
    assert_eq!(epoch, 1);
    let owner = Owner {
        node: winner.clone(),
        url: format!("ws://{winner}.test:7777"),
        epoch: 1,
    };
    assert!(
        told.iter().all(|o| *o == owner),
        "every loser is told the winner: {told:?}"
    );
    assert_eq!(told.len(), 19);
    assert_eq!(
        stores[0].locate("arena-1").await.expect("locates"),
        Some(owner)
    );
    assert_eq!(stores[0].locate("nowhere").await.expect("locates"), None);
}

#[tokio::test]
async fn a_stale_holder_is_fenced_out_and_epochs_only_rise() {
    let redis = RedisServer::start().await;
    let ttl = Duration::from_millis(300);
    let a = store(&redis, "a", ttl).await;
    let b = store(&redis, "b", ttl).await;

    let Acquired::Mine(first) = a.acquire("room").await.expect("acquires") else {
        panic!("a free room is acquired");
    };
    assert!(a.renew(&first).await.expect("renews"), "the holder renews");
    assert!(
        a.save(&first, b"tick 1").await.expect("saves"),
        "the holder saves"
    );
    assert_eq!(
        a.saved("room").await.expect("reads").as_deref(),
        Some(&b"tick 1"[..])
    );
    assert!(
        matches!(b.acquire("room").await.expect("answers"), Acquired::Held(o) if o.node == "a")
    );

    // `a` stalls past its TTL; `b` takes the room over with a higher epoch.
    sleep(ttl * 2).await;
    let Acquired::Mine(second) = b.acquire("room").await.expect("acquires") else {
        panic!("an expired lease is taken over");
    };
    assert_eq!((first.epoch, second.epoch), (1, 2));

    // Everything `a` still tries is refused, whatever its clock says.
    assert!(
        !a.renew(&first).await.expect("answers"),
        "a stale renewal is refused"
    );
    assert!(
        !a.save(&first, b"stale").await.expect("answers"),
        "a stale save is refused"
    );
    assert!(
        !a.release(&first).await.expect("answers"),
        "a stale release is refused"
    );
    assert!(
        !a.hand_off(&first, b"stale").await.expect("answers"),
        "a stale hand-off is refused"
    );
    assert_eq!(
        b.saved("room").await.expect("reads").as_deref(),
        Some(&b"tick 1"[..])
    );
    assert!(b.save(&second, b"tick 2").await.expect("saves"));

    // An expired lease no one took is gone too: its holder may not renew it back.
    sleep(ttl * 2).await;
    assert!(
        !b.renew(&second).await.expect("answers"),
        "an expired lease is not renewed"
    );
    let Acquired::Mine(third) = a.acquire("room").await.expect("acquires") else {
        panic!("acquired again");
    };
    assert_eq!(third.epoch, 3, "epochs only rise");
    // A hand-off writes the last state and frees the room in one step.
    assert!(a.hand_off(&third, b"tick 3").await.expect("hands off"));
    assert_eq!(a.locate("room").await.expect("locates"), None);
    assert_eq!(
        b.saved("room").await.expect("reads").as_deref(),
        Some(&b"tick 3"[..])
    );
    // A release ends the room: its save goes with the lease.
    let Acquired::Mine(fourth) = b.acquire("room").await.expect("acquires") else {
        panic!("a handed-off room is acquired");
    };
    assert_eq!(fourth.epoch, 4);
    assert!(b.release(&fourth).await.expect("releases"));
    assert_eq!(b.locate("room").await.expect("locates"), None);
    assert_eq!(b.saved("room").await.expect("reads"), None);
}
