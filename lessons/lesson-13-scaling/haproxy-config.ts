// Prints the haproxy.cfg your haproxyConfig() writes, for running the cluster by hand:
//
//   npx tsx lessons/lesson-13-scaling/haproxy-config.ts 8130 a:8113 b:8114 c:8115 > cluster.cfg
//   haproxy -db -f cluster.cfg
//
// The first number is HAProxy's port; each name:port after it an instance. Add --sticky for
// Socket.IO's long-polling start (Step 5). It reads exercises/; `npx tsx --conditions=solutions`
// reads the reference instead.
import { haproxyConfig } from "#lesson/lesson-13-scaling/haproxy.ts";

const args = process.argv.slice(2);
const sticky = args.includes("--sticky");
const [port, ...instances] = args.filter((arg) => arg !== "--sticky");
if (
  !port ||
  !/^\d+$/.test(port) ||
  instances.length === 0 ||
  !instances.every((i) => /^\w+:\d+$/.test(i))
) {
  console.error(
    "Usage: npx tsx lessons/lesson-13-scaling/haproxy-config.ts <port> <name:port>... [--sticky]",
  );
  process.exit(2);
}
try {
  process.stdout.write(
    haproxyConfig({
      port: Number(port),
      instances: instances.map((instance) => {
        const [name, at] = instance.split(":") as [string, string];
        return { name, port: Number(at) };
      }),
      sticky,
    }),
  );
} catch (error) {
  // A stub's error names the function and the README step: that line is the whole message.
  console.error((error as Error).message);
  process.exit(1);
}
