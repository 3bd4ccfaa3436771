// Shopify's own Node library (@shopify/shopify-api), unchanged, against the Shopify simulator.
//
// Usage: node check_library.mjs '{"base": "http://127.0.0.1:PORT", "shop": "NAME",
//                                  "clientId": "...", "clientSecret": "..."}'
//
// The library calls https://{shop}.myshopify.com/...; the only thing between it and the simulator is
// the fetch set below, which sends those requests to {base}/shopify/{shop}/... over http instead
// (and refuses any other address). What the library sends, how it reads the answers and how it
// checks webhook signatures is its own. Prints one JSON object (the last line of stdout) for
// tests/shopify/test_official_node_library.py to check; the library's own log goes to stderr.

import '@shopify/shopify-api/adapters/node';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { setAbstractFetchFunc } from '@shopify/shopify-api/runtime';
import { ApiVersion, LogSeverity, shopifyApi } from '@shopify/shopify-api';

const input = JSON.parse(process.argv[2] ?? '{}');
const base = input.base.replace(/\/$/, '');
const domain = `${input.shop}.myshopify.com`;
const realFetch = globalThis.fetch;
const seen = []; // every request the library made, as it made it: method, URL, content type

setAbstractFetchFunc(async (resource, init = {}) => {
  const url = new URL(typeof resource === 'string' ? resource : resource.url);
  const store = /^([a-z0-9][a-z0-9-]*)\.myshopify\.com$/.exec(url.hostname);
  if (url.protocol !== 'https:' || !store) {
    throw new Error(`no network in tests: ${url}`);
  }
  const headers = new Headers(init.headers ?? {});
  seen.push({ method: init.method ?? 'GET', url: url.href, contentType: headers.get('content-type') });
  return realFetch(`${base}/shopify/${store[1]}${url.pathname}${url.search}`, init);
});

const shopify = shopifyApi({
  apiKey: input.clientId,
  apiSecretKey: input.clientSecret,
  apiVersion: ApiVersion.April26,
  hostName: 'picqer-sync.test',
  isEmbeddedApp: false,
  logger: { level: LogSeverity.Warning, log: (severity, message) => console.error(`[library] ${message}`) },
});

// A receiver for the simulator's webhooks: keeps each delivery's request and exact body.
function startReceiver() {
  const received = [];
  let onDelivery = () => {};
  const server = http.createServer((request, response) => {
    const chunks = [];
    request.on('data', (chunk) => chunks.push(chunk));
    request.on('end', () => {
      received.push({ request, response, rawBody: Buffer.concat(chunks).toString('utf8') });
      response.writeHead(200).end();
      onDelivery();
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const next = (timeoutMs) =>
        new Promise((done, fail) => {
          if (received.length) return done(received.shift());
          const timer = setTimeout(() => fail(new Error('no webhook arrived')), timeoutMs);
          onDelivery = () => {
            clearTimeout(timer);
            done(received.shift());
          };
        });
      resolve({ address: `http://127.0.0.1:${server.address().port}/webhooks/shopify`, next, server });
    });
  });
}

async function control(path, body) {
  const answer = await realFetch(`${base}/_sandbox/shopify${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!answer.ok) throw new Error(`control ${path}: ${answer.status} ${await answer.text()}`);
  return answer.json();
}

async function main() {
  const installed = new URL('./node_modules/@shopify/shopify-api/package.json', import.meta.url);
  const result = { library: JSON.parse(readFileSync(installed, 'utf8')).version };

  // 1. the client credentials grant, as the library asks for it
  const { session } = await shopify.auth.clientCredentials({ shop: domain });
  result.session = { shop: session.shop, accessToken: session.accessToken, scope: session.scope, expires: session.expires?.toISOString() ?? null };

  // ... and refused with a wrong secret (the library raises the store's 401)
  const wrong = shopifyApi({
    apiKey: input.clientId,
    apiSecretKey: `${input.clientSecret}-wrong`,
    apiVersion: ApiVersion.April26,
    hostName: 'picqer-sync.test',
    isEmbeddedApp: false,
    logger: { level: LogSeverity.Error, log: (severity, message) => console.error(`[library] ${message}`) },
  });
  try {
    await wrong.auth.clientCredentials({ shop: domain });
    result.wrongSecret = { refused: false };
  } catch (error) {
    result.wrongSecret = { refused: true, error: error.constructor.name, code: error.response?.code ?? null };
  }

  // 2. GraphQL: orders with their cost
  const client = new shopify.clients.Graphql({ session });
  const orders = await client.request(
    `query Orders($first: Int!) {
      shop { myshopifyDomain }
      orders(first: $first, sortKey: CREATED_AT) {
        nodes { id legacyResourceId name displayFinancialStatus lineItems(first: 5) { nodes { sku quantity } } }
        pageInfo { hasNextPage }
      }
    }`,
    { variables: { first: 10 } },
  );
  result.orders = {
    data: orders.data,
    extensions: orders.extensions,
    apiVersion: Object.entries(orders.headers ?? {}).find(([name]) => name.toLowerCase() === 'x-shopify-api-version')?.[1] ?? null,
  };

  // 3. a webhook the simulator really delivers, checked by the library
  const receiver = await startReceiver();
  try {
    const created = await client.request(
      `mutation Subscribe($uri: String!) {
        webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription: {uri: $uri, format: JSON}) {
          webhookSubscription { id topic uri }
          userErrors { field message }
        }
      }`,
      { variables: { uri: receiver.address } },
    );
    result.subscription = created.data.webhookSubscriptionCreate;

    const made = (await control(`/shops/${input.shop}/orders`, { template: 'ipod', financial_status: 'paid' })).order;
    const delivery = await receiver.next(10000);
    result.order = { id: made.id, name: made.name };
    result.delivery = {
      method: delivery.request.method,
      url: delivery.request.url,
      headers: delivery.request.headers,
      rawBody: delivery.rawBody,
    };
    result.valid = await shopify.webhooks.validate({
      rawBody: delivery.rawBody,
      rawRequest: delivery.request,
      rawResponse: delivery.response,
    });
    // another order id in the body (its first occurrence is the order's own), the headers as sent
    const changed = delivery.rawBody.replace(String(made.id), String(made.id + 1));
    result.tampered = {
      changed: changed !== delivery.rawBody,
      ...(await shopify.webhooks.validate({
        rawBody: changed,
        rawRequest: delivery.request,
        rawResponse: delivery.response,
      })),
    };
    // the same body signed with another app's secret is refused too
    result.otherSecret = await wrong.webhooks.validate({
      rawBody: delivery.rawBody,
      rawRequest: delivery.request,
      rawResponse: delivery.response,
    });
  } finally {
    receiver.server.close();
  }
  result.requests = seen;
  return result;
}

main().then(
  (result) => {
    process.stdout.write(`${JSON.stringify(result)}\n`);
  },
  (error) => {
    console.error(error?.stack ?? error);
    if (error?.response) console.error(JSON.stringify(error.response));
    process.exitCode = 1;
  },
);
