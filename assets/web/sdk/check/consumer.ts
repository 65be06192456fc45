// A small consumer of the SDK's package, type-checked in CI (`npx tsc --noEmit` here): the
// declarations in ../index.d.ts must describe the API a game page uses.
import { connect, roomUrl, type Entity, type Schema, type Stats } from "tickwire-web";

async function play(): Promise<void> {
  const client = await connect({ room: "lobby-1", game: "race", name: "ts", token: undefined });
  client.addEventListener("welcome", () => {
    const schema: Schema | null = client.schema;
    const inputs: string[] = schema ? schema.input.map((field) => field.name) : [];
    console.log(schema?.game, inputs);
  });
  client.send({ throttle: 127, steer: -20 });
  const entities: Entity[] = client.entities(performance.now());
  for (const entity of entities) {
    const car = entity.components["Car"];
    if (car && Array.isArray(car["pos"])) {
      const [x, y] = car["pos"];
      console.log(entity.id, entity.kind, entity.own, x + y);
    }
  }
  const stats: Stats = client.stats;
  if (stats.status === "playing" && stats.desyncs === 0) console.log(stats.tick, stats.bytes_per_sec);
  console.log(roomUrl({ room: "r" }, { protocol: "http:", host: "127.0.0.1:7777" }));
  client.close();
}

void play();
