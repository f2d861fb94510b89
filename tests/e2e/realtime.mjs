// Subscribe the real pusher-js to a MagFlock board's realtime card and report what arrives.
// usage: node realtime.mjs <board url> <anon key> <user token> <ws host> <ws port> <app key>
//                          <table channel> <marker slug>
// Prints JSON lines: {"subscribed": channel} once per channel, {"event", "channel", "data"}
// per event received, and {"done": true} once the table event carrying <marker slug> came
// (tests/e2e/test_realtime_pusher_js.py drives the writes in between).
import Pusher from 'pusher-js'

const [url, anonKey, token, wsHost, wsPort, appKey, tableChannel, marker] = process.argv.slice(2)
const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
const pusher = new Pusher(appKey, {
  cluster: 'local',
  wsHost,
  wsPort: Number(wsPort),
  forceTLS: false,
  enabledTransports: ['ws'],
  disableStats: true,
  channelAuthorization: {
    endpoint: `${url}/realtime/v1/auth`,
    transport: 'ajax',
    headers: { apikey: anonKey, Authorization: `Bearer ${token}` },
  },
})
const timer = setTimeout(() => { out({ timeout: true }); process.exit(2) }, 60000)
pusher.connection.bind('error', (err) => out({ connection_error: String(err?.error?.data?.message ?? err?.type ?? err) }))

for (const name of [tableChannel, 'news']) {
  const channel = pusher.subscribe(name)
  channel.bind('pusher:subscription_succeeded', () => out({ subscribed: name }))
  channel.bind('pusher:subscription_error', (err) => out({ subscription_error: name, status: err?.status ?? null, error: String(err?.error ?? err) }))
  channel.bind_global((event, data) => {
    if (event.startsWith('pusher')) return
    out({ event, channel: name, data })
    if (name === tableChannel && data?.new?.slug === marker) {
      out({ done: true })
      clearTimeout(timer)
      pusher.disconnect()
      setTimeout(() => process.exit(0), 100)
    }
  })
}
