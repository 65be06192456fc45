//! Input intake: each client's queued inputs and full-snapshot requests, applied once a tick.

use super::*;

impl GameLoop {
    pub(super) fn apply_client_events(&mut self) {
        let max_inputs = self.limits.max_inputs_per_tick;
        for client in self.clients.values_mut() {
            let mut inputs = 0;
            while inputs < max_inputs {
                match client.events.try_recv() {
                    Ok(ClientEvent::Input(input)) => {
                        // Stale or replayed frames are ignored: each sequence moves the player once.
                        // (Sessions refuse spectators' inputs, and inputs that do not fit the
                        // game's input schema, before they get here.)
                        if let Some(player) = client.seat.player
                            && input.sequence > client.seat.last_input
                            && self.game.input(player, &input.lanes)
                        {
                            client.seat.last_input = input.sequence;
                            inputs += 1;
                        }
                    }
                    Ok(ClientEvent::RequestFull) => {
                        debug!(name = %client.seat.name, "full snapshot requested");
                        client.wants_full = true;
                    }
                    Err(_) => break,
                }
            }
        }
    }
}
