// Drive MagAuth with the real @supabase/supabase-js (auth-js inside), unchanged.
// usage: node --experimental-websocket auth.mjs <board url> <anon key> <service_role key>
// Prints one JSON object: {"ok": true, "steps": [...]} or {"ok": false, "failed": ..., "detail": ...}.
import { createClient } from '@supabase/supabase-js'

const [url, anonKey, serviceKey] = process.argv.slice(2)
const options = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } }
const supabase = createClient(url, anonKey, options)
const admin = createClient(url, serviceKey, options)
const email = `e2e-${Date.now()}@example.com`
const password = 'first-pass-word'
const steps = []

function check(step, condition, detail) {
  if (!condition) {
    console.log(JSON.stringify({ ok: false, failed: step, detail }))
    process.exit(1)
  }
  steps.push(step)
}

let r = await supabase.auth.signUp({ email, password, options: { data: { plan: 'free' } } })
check('signUp', !r.error && r.data.session && r.data.user.email === email, r)
const userId = r.data.user.id
check('signUp metadata', r.data.user.user_metadata.plan === 'free', r.data.user)

r = await supabase.auth.signUp({ email, password })
check('signUp again', r.error && r.error.code === 'user_already_exists' && r.error.status === 422, r.error)

r = await supabase.auth.signUp({ email: `weak-${email}`, password: 'short' })
check('weak password', r.error && r.error.name === 'AuthWeakPasswordError' && r.error.reasons.includes('length'), r.error)

r = await supabase.auth.signInWithPassword({ email, password: 'wrong-pass-word' })
check('wrong password', r.error && r.error.code === 'invalid_credentials' && r.error.status === 400, r.error)

r = await supabase.auth.signInWithPassword({ email, password })
check('signInWithPassword', !r.error && r.data.session && r.data.user.id === userId, r)
const firstRefresh = r.data.session.refresh_token

r = await supabase.auth.getUser()
check('getUser', !r.error && r.data.user.id === userId && r.data.user.email === email, r)

r = await supabase.auth.refreshSession()
check('refreshSession', !r.error && r.data.session.refresh_token !== firstRefresh, r)
const { data: { session } } = await supabase.auth.getSession()
check('session rotated', session.refresh_token === r.data.session.refresh_token, session)

r = await supabase.auth.updateUser({ data: { plan: 'pro' } })
check('updateUser data', !r.error && r.data.user.user_metadata.plan === 'pro', r)

r = await supabase.auth.updateUser({ password: 'second-pass-word' })
check('updateUser password', !r.error, r.error)

r = await supabase.auth.signOut()
check('signOut', !r.error, r.error)
r = await supabase.auth.getSession()
check('signed out', r.data.session === null, r.data)

r = await supabase.auth.signInWithPassword({ email, password: 'second-pass-word' })
check('signIn with new password', !r.error && r.data.user.user_metadata.plan === 'pro', r)
r = await supabase.auth.signOut({ scope: 'others' })
check('signOut others', !r.error, r.error)
r = await supabase.auth.getUser()
check('local session kept', !r.error && r.data.user.id === userId, r)

r = await admin.auth.admin.listUsers()
check('admin.listUsers', !r.error && r.data.users.some((u) => u.id === userId), r)
r = await admin.auth.admin.createUser({ email: `made-${email}`, password, email_confirm: true })
check('admin.createUser', !r.error && r.data.user.email === `made-${email}`, r)
const made = r.data.user.id
r = await admin.auth.admin.updateUserById(made, { user_metadata: { by: 'admin' } })
check('admin.updateUserById', !r.error && r.data.user.user_metadata.by === 'admin', r)
r = await admin.auth.admin.getUserById(made)
check('admin.getUserById', !r.error && r.data.user.id === made, r)
r = await admin.auth.admin.deleteUser(made)
check('admin.deleteUser', !r.error, r.error)
r = await supabase.auth.admin.listUsers()
check('anon is not admin', r.error && r.error.status === 403, r.error)

console.log(JSON.stringify({ ok: true, steps }))
