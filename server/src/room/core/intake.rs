//! Input intake: inputs and full-snapshot requests as they arrive, applied once a tick.

use super::*;

impl<P> RoomCore<P> {
    /// An input from a client, checked against the game's input schema by its session. It
    /// waits for the next tick; past `input_queue_frames` waiting, it is dropped (the player
    /// misses that input).
    pub(crate) fn input(&mut self, id: ClientId, input: InputMessage) {
        let Some(client) = self.clients.get_mut(&id) else {
            return;
        };
        if client.inputs.len() >= self.limits.input_queue_frames {
            debug!(
                client = id,
                sequence = input.sequence,
                "input queue full, frame dropped"
            );
            self.metrics.inputs_dropped.increment(1);
            return;
        }
        client.inputs.push_back(input);
    }

    /// The client lost track of the world: its next snapshot is a full one (at most one per
    /// `full_snapshot_interval_ms`, see `fan_out`).
    pub(crate) fn request_full(&mut self, id: ClientId) {
        if let Some(client) = self.clients.get_mut(&id) {
            debug!(name = %client.seat.name, "full snapshot requested");
            client.wants_full = true;
        }
    }

    /// Each client's queued inputs, at most `max_inputs_per_tick` applied, each through the
    /// game's shared step. Stale or replayed frames are dropped without counting: each
    /// sequence moves the player once. (Sessions refuse spectators' inputs before they get
    /// here.)
    pub(super) fn apply_inputs(&mut self) {
        let max_inputs = self.limits.max_inputs_per_tick;
        for client in self.clients.values_mut() {
            let Some(player) = client.seat.player else {
                client.inputs.clear();
                continue;
            };
            let mut applied = 0;
            while applied < max_inputs
                && let Some(input) = client.inputs.pop_front()
            {
                if input.sequence > client.seat.last_input && self.game.input(player, &input.lanes)
                {
                    client.seat.last_input = input.sequence;
                    applied += 1;
                }
            }
        }
    }
}
