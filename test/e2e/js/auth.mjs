// SigV4 verification, authorization and throttling, seen from the AWS SDK for
// JavaScript v3 (@aws-sdk/client-proton). Run by test/e2e/auth_test.go:
//
//   node auth.mjs
//
// The server is HADRON_ENDPOINT; ADMIN_KEY/ADMIN_SECRET may do everything,
// READ_KEY/READ_SECRET only proton:Get*. Prints one JSON object: what each
// call answered, and how a throttled burst of BURST_CALLS concurrent calls
// (standard retries, 10 attempts) ended.
import {
  ProtonClient,
  GetEnvironmentCommand,
  CancelEnvironmentDeploymentCommand,
  ListEnvironmentsCommand,
} from "@aws-sdk/client-proton";

const env = process.env;

function client(accessKeyId, secretAccessKey, maxAttempts = 1) {
  return new ProtonClient({
    endpoint: env.HADRON_ENDPOINT,
    region: "us-east-1",
    credentials: { accessKeyId, secretAccessKey },
    maxAttempts,
    retryMode: "standard",
  });
}

async function outcome(promise) {
  try {
    await promise;
    return { Code: "", Message: "", Status: 200 };
  } catch (e) {
    return { Code: e.name, Message: e.message, Status: e.$metadata?.httpStatusCode ?? 0 };
  }
}

const name = env.ENVIRONMENT;
const result = {
  Right: await outcome(client(env.ADMIN_KEY, env.ADMIN_SECRET).send(new GetEnvironmentCommand({ name }))),
  WrongSecret: await outcome(client(env.ADMIN_KEY, "not-the-secret").send(new GetEnvironmentCommand({ name }))),
  UnknownKey: await outcome(client("HKUNKNOWNUNKNOWN0000", env.ADMIN_SECRET).send(new GetEnvironmentCommand({ name }))),
  ReadGet: await outcome(client(env.READ_KEY, env.READ_SECRET).send(new GetEnvironmentCommand({ name }))),
  ReadCancel: await outcome(client(env.READ_KEY, env.READ_SECRET).send(new CancelEnvironmentDeploymentCommand({ environmentName: name }))),
};

const burst = { Calls: 0, Succeeded: 0, Errors: [], Retries: 0 };
const c = client(env.ADMIN_KEY, env.ADMIN_SECRET, 10);
await Promise.all(
  Array.from({ length: Number(env.BURST_CALLS) }, async () => {
    try {
      const out = await c.send(new ListEnvironmentsCommand({}));
      burst.Succeeded++;
      burst.Retries += out.$metadata.attempts - 1;
    } catch (e) {
      burst.Errors.push(e.name);
    }
    burst.Calls++;
  }),
);
result.Burst = burst;
console.log(JSON.stringify(result));
