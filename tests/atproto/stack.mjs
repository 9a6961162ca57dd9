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
// What the label ingester (control op follow_labels) uses: all dev-env's own dependencies.
const { Subscription } = await import('@atproto/xrpc-server')
const { IdResolver, getDidKeyFromMultibase } = await import('@atproto/identity')
const { getVerificationMaterial } = await import('@atproto/common')
const { verifySignature } = await import('@atproto/crypto')
const { encode: cborEncode } = await import('@atproto/lex-cbor')
const { ComAtprotoLabelSubscribeLabels } = await import('@atproto/api')

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
// From here on stdout carries only control answers: stray console output goes to stderr.
console.log = console.info = console.debug = console.error

// The control channel: after the info line, one JSON request a line on stdin, {"id": n, "op": ...},
// answered by one line on stdout, {"id": n, "ok": true, ...} or {"id": n, "ok": false, "error": ...}.
// Requests are answered as they finish, not necessarily in order: readers match answers by id and
// skip any other line.
const ingesters = new Map() // labeler DID -> LabelIngester

const ops = {
  // The email token requestPlcOperationSignature issued (dev-env mails it nowhere: jsonTransport).
  async plc_token({ did }) {
    if (typeof did !== 'string') throw new Error('plc_token needs "did"')
    const row = await network.pds.ctx.accountManager.db.db
      .selectFrom('email_token')
      .select(['token', 'requestedAt'])
      .where('did', '=', did)
      .where('purpose', '=', 'plc_operation')
      .executeTakeFirst()
    if (!row) throw new Error(`no plc_operation token for ${did}: call requestPlcOperationSignature first`)
    return { token: row.token, requested_at: row.requestedAt }
  },
  // Ingest a labeler's subscribeLabels stream into the AppView, as production Bluesky does.
  async follow_labels({ did, url }) {
    if (mode === 'pds') throw new Error('follow_labels needs the AppView (mode "full")')
    if (typeof did !== 'string' || typeof url !== 'string') throw new Error('follow_labels needs "did" and "url"')
    ingesters.get(did)?.stop()
    const ingester = new LabelIngester(did, url)
    ingesters.set(did, ingester)
    ingester.start()
    return { service: ingester.service }
  },
  async label_stats() {
    const all = [...ingesters.values()]
    return {
      accepted: all.reduce((n, i) => n + i.accepted, 0),
      rejected: all.reduce((n, i) => n + i.rejected, 0),
      last_seq: all.reduce((n, i) => Math.max(n, i.lastSeq), 0),
      errors: [...labelErrors],
      ingesters: all.map((i) => i.stats()),
    }
  },
  async process() {
    await network.processAll()
    return {}
  },
}

const MAX_ERRORS = 10
const labelErrors = [] // the last few, of every ingester, oldest first
class LabelIngester {
  constructor(did, url) {
    this.did = did
    // Subscription appends /xrpc/<method> itself: accept "ws://host:port" or "ws://host:port/xrpc".
    this.service = url.replace(/\/+$/, '').replace(/\/xrpc$/, '')
    this.accepted = 0
    this.rejected = 0
    this.lastSeq = 0
    this.errors = []
    this.abort = new AbortController()
  }

  stats() {
    const { did, service, accepted, rejected, errors } = this
    return { did, url: service, accepted, rejected, last_seq: this.lastSeq, errors: [...errors] }
  }

  error(message) {
    for (const [list, line] of [
      [this.errors, message],
      [labelErrors, `${this.did}: ${message}`],
    ]) {
      list.push(line)
      if (list.length > MAX_ERRORS) list.shift()
    }
  }

  stop() {
    this.abort.abort()
  }

  start() {
    void this.run()
  }

  async run() {
    // No cache, so a key rotation shows at once; the global fetch, since the default one is SSRF-safe
    // and refuses the plain http:// PLC (dev-env's AppView passes the same).
    this.idResolver = new IdResolver({ plcUrl: network.plc.url, fetch: globalThis.fetch })
    while (!this.abort.signal.aborted) {
      const sub = new Subscription({
        service: this.service,
        method: 'com.atproto.label.subscribeLabels',
        signal: this.abort.signal,
        maxReconnectSeconds: 2,
        getParams: () => ({ cursor: this.lastSeq }), // 0 first, then resume after the last seq
        onReconnectError: (err, attempt) => this.error(`connection (attempt ${attempt}): ${describe(err)}`),
        validate: (value) => {
          if (ComAtprotoLabelSubscribeLabels.isInfo(value)) {
            this.error(`info from labeler: ${value.name}${value.message ? `: ${value.message}` : ''}`)
            return undefined
          }
          const result = ComAtprotoLabelSubscribeLabels.validateLabels(value)
          if (result.success) return value // the frame as sent: its labels are what was signed
          this.error(`invalid #labels message: ${describe(result.error)}`)
          if (Array.isArray(value?.labels)) this.rejected += value.labels.length
          if (Number.isInteger(value?.seq)) this.lastSeq = value.seq
          return undefined
        },
      })
      try {
        for await (const message of sub) {
          if (this.abort.signal.aborted) return // replaced by a later follow_labels, or shutting down
          await this.ingest(message)
        }
        this.error('the labeler closed the stream')
      } catch (err) {
        if (this.abort.signal.aborted) return
        this.error(`subscription: ${describe(err)}`)
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
    }
  }

  async ingest({ seq, labels }) {
    let didKey = null
    for (const label of labels) {
      try {
        if (label.src !== this.did) throw new Error(`label src ${label.src} is not ${this.did}`)
        didKey ??= await this.labelKey()
        const { sig, ...unsigned } = label
        const bytes = cborEncode(unsigned)
        if (!(sig instanceof Uint8Array) || !(await verifySignature(didKey, bytes, sig))) {
          throw new Error(`bad signature on ${label.val} for ${label.uri}`)
        }
        const row = {
          src: label.src,
          uri: label.uri,
          cid: label.cid ?? '',
          val: label.val,
          neg: label.neg === true,
          cts: label.cts,
          exp: label.exp ?? null,
        }
        await network.bsky.db.db
          .insertInto('label')
          .values(row)
          .onConflict((oc) =>
            oc.columns(['src', 'uri', 'cid', 'val']).doUpdateSet({ neg: row.neg, cts: row.cts, exp: row.exp }),
          )
          .execute()
        this.accepted += 1
      } catch (err) {
        this.rejected += 1
        this.error(`label rejected (seq ${seq}): ${describe(err)}`)
      }
    }
    this.lastSeq = seq
  }

  // The did:key of the #atproto_label verification method in the labeler's DID document.
  async labelKey() {
    const doc = await this.idResolver.did.ensureResolve(this.did, true)
    const material = getVerificationMaterial(doc, 'atproto_label')
    const didKey = material && getDidKeyFromMultibase(material)
    if (!didKey) throw new Error(`${this.did} has no usable #atproto_label key in its DID document`)
    return didKey
  }
}

// An error and its causes, e.g. "SocketError: WebSocket transport error <- Error: connect ECONNREFUSED ...".
function describe(err) {
  const parts = []
  for (let e = err; e != null && parts.length < 4; e = e instanceof Error ? e.cause : null) {
    parts.push(e instanceof Error ? `${e.name}: ${e.message}` : String(e))
  }
  return parts.join(' <- ')
}

function answer(reply) {
  process.stdout.write(`${JSON.stringify(reply)}\n`)
}

async function handle(line) {
  if (!line.trim()) return
  let request
  try {
    request = JSON.parse(line)
  } catch (err) {
    answer({ id: null, ok: false, error: `not JSON: ${describe(err)}` })
    return
  }
  const { id = null, op, ...fields } = request ?? {}
  try {
    if (!Object.hasOwn(ops, op)) throw new Error(`unknown op ${JSON.stringify(op)}`)
    answer({ ...(await ops[op](fields)), id, ok: true })
  } catch (err) {
    answer({ id, ok: false, error: describe(err) })
  }
}

let closing = false
async function shutdown() {
  if (closing) return
  closing = true
  try {
    for (const ingester of ingesters.values()) ingester.stop()
    await network.close()
  } finally {
    process.exit(0)
  }
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
const { createInterface } = await import('node:readline')
const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
lines.on('line', (line) => void handle(line))
lines.on('close', shutdown)
