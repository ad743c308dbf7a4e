/**
 * Two screens, fetched over lesson 08's REST API and over this lesson's GraphQL server, side by
 * side from one run (the README's "Measure it"):
 *
 *   user 123   user 123 with the last five orders (and their items) and the user's reviews
 *   20 users   the first 20 users, each with all their orders (and items) and reviews
 *
 *   npm run bench -- lesson-09              (the GraphQL rows run your server.ts)
 *   npm run bench -- lesson-09 --solution   (they run the reference)
 *
 * The REST rows always run lesson 08's reference: they are the baseline, so this bench runs once
 * this lesson is done, whether or not lesson 08 is. Each row gets a server and a store of its own
 * and a new client, which keeps its connections alive and opens at most six to the server at once,
 * as a browser does over HTTP/1.1. The counting is lesson 08's, at the server's sockets
 * (shared/bench/wire.ts). These are counts, not timings: they come out the same on any machine.
 */
import http from "node:http";
import { createApp } from "#reference/lesson-08-rest/app.ts";
import { createStore, type Store } from "#reference/lesson-08-rest/store.ts";
import { createServer as createGraphQLServer } from "#lesson/lesson-09-graphql/server.ts";
import { printTable, startMetered, type WireCount } from "../../shared/bench/wire.ts";

/** One request with node:http, the whole body read and parsed; anything but 200 stops the bench. */
function request(origin: string, agent: http.Agent, path: string, body?: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["Content-Length"] = Buffer.byteLength(body);
      headers.Accept = "application/graphql-response+json";
    }
    const req = http.request(
      `${origin}${path}`,
      { agent, headers, method: body === undefined ? "GET" : "POST" },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) {
            reject(
              new Error(`${req.method} ${path} answered ${res.statusCode}: ${text.slice(0, 300)}`),
            );
          } else resolve(JSON.parse(text));
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

/** What one client does for a screen; it returns what the screen shows. */
type Client = (
  get: (path: string) => Promise<unknown>,
  post: (body: string) => Promise<unknown>,
) => Promise<unknown>;

interface Row extends WireCount {
  screen: string;
  api: string;
  queries: number;
  /** What the screen showed, to check that every row of a screen got the same data. */
  shown: string;
}

async function measure(
  screen: string,
  api: string,
  server: (store: Store) => http.Server,
  client: Client,
): Promise<Row> {
  const store = createStore();
  const metered = await startMetered(server(store));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 6 });
  try {
    const shown = await client(
      (path) => request(metered.origin, agent, path),
      (body) => request(metered.origin, agent, "/graphql", body),
    );
    return {
      screen,
      api,
      ...metered.read(),
      queries: store.queryCount,
      shown: JSON.stringify(shown),
    };
  } finally {
    agent.destroy();
    await metered.close();
  }
}

// What each screen shows, whichever API it came from.
interface Shown {
  name: string;
  orders: { total: number; items: { productName: string; quantity: number }[] }[];
  reviews: { rating: number; comment: string }[];
}
const shown = (
  user: { name: string },
  orders: Shown["orders"],
  reviews: Shown["reviews"],
): Shown => ({
  name: user.name,
  orders: orders.map((o) => ({
    total: o.total,
    items: o.items.map((i) => ({ productName: i.productName, quantity: i.quantity })),
  })),
  reviews: reviews.map((r) => ({ rating: r.rating, comment: r.comment })),
});

const restUserParallel: Client = async (get) => {
  const [user, orders, reviews] = await Promise.all([
    get("/users/123"),
    get("/users/123/orders?last=5"),
    get("/users/123/reviews"),
  ]);
  return shown(user as Shown, orders as Shown["orders"], reviews as Shown["reviews"]);
};
const restUserInTurn: Client = async (get) => {
  const user = await get("/users/123");
  const orders = await get("/users/123/orders?last=5");
  const reviews = await get("/users/123/reviews");
  return shown(user as Shown, orders as Shown["orders"], reviews as Shown["reviews"]);
};
const restTwentyUsers: Client = async (get) => {
  // The page first: the other requests need the ids in it. Then all of them at once.
  const page = (await get("/users?limit=20")) as { data: { id: string; name: string }[] };
  return Promise.all(
    page.data.map(async (user) => {
      const [orders, reviews] = await Promise.all([
        get(`/users/${user.id}/orders`),
        get(`/users/${user.id}/reviews`),
      ]);
      return shown(user, orders as Shown["orders"], reviews as Shown["reviews"]);
    }),
  );
};

const USER_123 = `{ user(id: "123") { name orders(last: 5) { total items { productName quantity } } reviews { rating comment } } }`;
const TWENTY_USERS = `{ users(first: 20) { edges { node { name orders { total items { productName quantity } } reviews { rating comment } } } } }`;

const graphqlClient =
  (query: string, show: (data: never) => unknown): Client =>
  async (_get, post) => {
    const body = (await post(JSON.stringify({ query }))) as { data?: never; errors?: unknown };
    if (body.errors !== undefined || body.data === undefined) {
      throw new Error(`POST /graphql answered errors: ${JSON.stringify(body.errors)}`);
    }
    return show(body.data);
  };
const graphqlUser = graphqlClient(USER_123, (data: { user: Shown }) =>
  shown(data.user, data.user.orders, data.user.reviews),
);
const graphqlTwentyUsers = graphqlClient(
  TWENTY_USERS,
  (data: { users: { edges: { node: Shown }[] } }) =>
    data.users.edges.map(({ node }) => shown(node, node.orders, node.reviews)),
);

const rest = (store: Store): http.Server => http.createServer(createApp({ store }));
const graphql =
  (dataloader: boolean) =>
  (store: Store): http.Server =>
    createGraphQLServer({ store, dataloader });

console.log(
  "lesson-09 bench: two screens over lesson 08's REST API (its reference, the baseline) and over this " +
    "lesson's GraphQL server;\neach row has a server, a store and a new client of its own on 127.0.0.1 " +
    "(keep-alive, at most 6 connections at once, as a browser)",
);
console.log(`Node ${process.version}\n`);

const rows = [
  await measure("user 123", "REST, 3 GETs at once", rest, restUserParallel),
  await measure("user 123", "REST, 3 GETs in turn", rest, restUserInTurn),
  await measure("user 123", "GraphQL, no DataLoader", graphql(false), graphqlUser),
  await measure("user 123", "GraphQL, DataLoader", graphql(true), graphqlUser),
  await measure("20 users", "REST, 1 + 40 GETs", rest, restTwentyUsers),
  await measure("20 users", "GraphQL, no DataLoader", graphql(false), graphqlTwentyUsers),
  await measure("20 users", "GraphQL, DataLoader", graphql(true), graphqlTwentyUsers),
];

const number = (n: number): string => n.toLocaleString("en");
printTable(
  [
    "screen, API",
    "requests",
    "connections",
    "bytes sent",
    "bytes received",
    "on the wire",
    "store queries",
  ],
  rows.map((r) => [
    `${r.screen}, ${r.api}`,
    number(r.requests),
    number(r.connections),
    number(r.bytesIn),
    number(r.bytesOut),
    number(r.bytesIn + r.bytesOut),
    number(r.queries),
  ]),
);
for (const screen of new Set(rows.map((r) => r.screen))) {
  if (new Set(rows.filter((r) => r.screen === screen).map((r) => r.shown)).size !== 1) {
    console.log(
      `\nThe rows of "${screen}" did not all get the same data: a server answered something else.`,
    );
    process.exitCode = 1;
  }
}
console.log(
  "\nbytes are counted at the server's sockets: sent = the client's requests, received = the server's " +
    "responses,\nheads and bodies; TCP/IP headers are not counted. Every row of a screen got the same " +
    "data (checked).\nstore queries: lesson 08 looks the user up before reading its orders or reviews " +
    "(a 404 for no such user).",
);
