// Starts a real AT Protocol stack for modbot's tests, on 127.0.0.1 only, and prints one JSON line
// describing it. Mode "full" (default): PLC + PDS + AppView + Ozone on the PostgreSQL at
// $DB_POSTGRES_URL; mode "pds": PLC + PDS only. Runs until stdin closes or SIGTERM, then shuts
// everything down. Run with the Node 22 from node_modules (tests/atproto/install.sh installs it).
import net from 'node:net'

// dev-env servers listen on all interfaces and the PDS may call out: keep both on loopback.
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', undefined, null, ''])
const listen = net.Server.prototype.listen
net.Server.prototype.listen = function (...args) {
  if (args[0] !== null && typeof args[0] === 'object') {
    args[0] = { ...args[0], host: '127.0.0.1' }
  } else if (typeof args[1] === 'string') {
    args[1] = '127.0.0.1'
  } else {
    args.splice(1, 0, '127.0.0.1')
  }
  return listen.apply(this, args)
}
const connect = net.Socket.prototype.connect
net.Socket.prototype.connect = function (...args) {
  const opts = Array.isArray(args[0]) ? args[0][0] : args[0]
  const host = opts !== null && typeof opts === 'object' ? opts.host : args[1]
  const path = opts !== null && typeof opts === 'object' ? opts.path : undefined
  if (!path && !LOOPBACK.has(host)) {
    throw new Error(`test stack refuses a connection to ${host}: loopback only`)
  }
  return connect.apply(this, args)
}

const { TestNetwork, TestNetworkNoAppView } = await import('@atproto/dev-env')

const mode = process.argv[2] ?? 'full'
process.env.REDIS_HOST ??= '127.0.0.1:6379' // asserted by dev-env, never connected to
// Letters and underscores only (dev-env's rule); unique per run so parallel runs never collide.
const schema = `modbot_${Array.from(`${process.pid}${Date.now()}`, (d) => 'abcdefghij'[Number(d)]).join('')}`
const dead = 'http://127.0.0.1:9' // AppView/moderation URLs in PDS-only mode: fail fast

const network =
  mode === 'pds'
    ? await TestNetworkNoAppView.create({
        pds: { hostname: 'localhost', bskyAppViewUrl: dead, modServiceUrl: dead },
      })
    : await TestNetwork.create({
        dbPostgresUrl: process.env.DB_POSTGRES_URL,
        dbPostgresSchema: schema,
        pds: { hostname: 'localhost' },
      })

const seed = network.getSeedClient()
const accounts = {}
for (const name of ['alice', 'bob', 'carol']) {
  const password = `${name}-pass`
  await seed.createAccount(name, { handle: `${name}.test`, email: `${name}@test.com`, password })
  accounts[name] = { did: seed.dids[name], handle: `${name}.test`, password }
}
let ozone = null
if (mode !== 'pds') {
  // alice is modbot's account: it moderates the Ozone labeler, so it may emit labels.
  await network.ozone.addModeratorDid(accounts.alice.did)
  ozone = { url: network.ozone.url, did: network.ozone.ctx.cfg.service.did }
  await network.processAll() // the AppView indexes the new accounts (profiles, account ages)
}

console.log(
  JSON.stringify({
    mode,
    pds: network.pds.url,
    plc: network.plc.url,
    appview: mode === 'pds' ? null : network.bsky.url,
    ozone,
    accounts,
  }),
)

let closing = false
async function shutdown() {
  if (closing) return
  closing = true
  try {
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
process.stdin.on('end', shutdown)
process.stdin.resume()
