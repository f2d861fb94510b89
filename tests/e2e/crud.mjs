// Drive MagGate's /rest/v1 with the real @supabase/supabase-js (postgrest-js inside), unchanged.
// usage: node --experimental-websocket crud.mjs <board url> <anon key> <service_role key> <engine>
// Prints one JSON line {"engine", "users": {u1, u2}, "ids": {...}, "results": {step: {...}}};
// tests/e2e/test_rest_supabase_js.py asserts on it. A step records what the client returned:
// {data, error, count, status}, or {thrown} if the client threw.
import { createClient } from '@supabase/supabase-js'

const [url, anonKey, serviceKey, engine] = process.argv.slice(2)
const options = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false } }
const anon = createClient(url, anonKey, options)
const c1 = createClient(url, anonKey, options)
const c2 = createClient(url, anonKey, options)
const admin = createClient(url, serviceKey, options)
const stamp = `${engine}-${Date.now()}`
const password = 'e2e-pass-word'
const results = {}
const ids = {}

async function step(name, call) {
  try {
    const r = await call()
    results[name] = { data: r.data ?? null, error: r.error ?? null, count: r.count ?? null, status: r.status ?? null }
  } catch (e) {
    results[name] = { thrown: String((e && e.stack) || e) }
  }
  return results[name]
}

// --- auth: two users, each with a client signed in as them
const users = {}
for (const [name, client] of [['u1', c1], ['u2', c2]]) {
  const email = `${name}-${stamp}@example.com`
  const up = await client.auth.signUp({ email, password })
  results[`signUp ${name}`] = { error: up.error, user: up.data?.user?.id ?? null, session: !!up.data?.session }
  const inn = await client.auth.signInWithPassword({ email, password })
  results[`signIn ${name}`] = { error: inn.error, user: inn.data?.user?.id ?? null, session: !!inn.data?.session }
  users[name] = inn.data?.user?.id ?? null
}
const [uid1, uid2] = [users.u1, users.u2]

// --- inserts: one row, a bulk insert, return=minimal
let r = await step('insert list', () => c1.from('lists').insert({ name: 'Home', owner: uid1 }).select().single())
ids.list = r.data?.id ?? null
const row = (slug, title, priority, note, list) => ({ slug, title, priority, note, list_id: list ? ids.list : null, user_id: uid1 })
r = await step('insert single', () => c1.from('todos').insert(row('milk', 'Buy milk', 1, '2 litres', true)).select().single())
ids.milk = r.data?.id ?? null
await step('insert bulk', () => c1.from('todos').insert([
  row('eggs', 'buy eggs', 2, null, true),
  row('dog', 'Walk dog', 3, null, false),
  row('tax', 'File taxes', 5, 'by April', false),
  row('plants', 'Water plants', 2, null, false),
]).select())
await step('insert minimal', () => c1.from('todos').insert(row('minimal', 'Return nothing', 4, null, false)))
await step('insert u2', () => c2.from('todos').insert({ slug: `u2-${stamp}`, title: 'u2 private', priority: 9, user_id: uid2 }).select().single())

// --- filters (c1 sees its own six rows)
const slugs = () => c1.from('todos').select('slug').order('slug')
await step('eq', () => slugs().eq('priority', 2))
await step('neq', () => slugs().neq('priority', 2))
await step('gt', () => slugs().gt('priority', 2))
await step('lt', () => slugs().lt('priority', 2))
await step('gte lte', () => slugs().gte('priority', 2).lte('priority', 3))
await step('like', () => slugs().like('title', '%milk%'))
await step('ilike', () => slugs().ilike('title', 'BUY%'))
await step('in', () => slugs().in('priority', [1, 3]))
await step('is null', () => slugs().is('note', null))
await step('not is null', () => slugs().not('note', 'is', null))
await step('or', () => slugs().or('priority.eq.1,slug.eq.tax'))
await step('match', () => slugs().match({ priority: 2, slug: 'eggs' }))

// --- order, range, limit, count
await step('order desc', () => c1.from('todos').select('slug,priority').order('priority', { ascending: false }).order('slug'))
await step('range', () => slugs().range(1, 2))
await step('limit', () => slugs().limit(2))
await step('count head', () => c1.from('todos').select('*', { count: 'exact', head: true }))
await step('count range', () => c1.from('todos').select('slug', { count: 'exact' }).order('slug').range(0, 1))
await step('select columns', () => c1.from('todos').select('slug,title').eq('slug', 'milk'))
await step('select rename', () => c1.from('todos').select('name:title').eq('slug', 'milk'))

// --- single / maybeSingle
await step('single', () => c1.from('todos').select('slug,title,priority,note,done').eq('slug', 'milk').single())
await step('single many', () => c1.from('todos').select('slug').eq('priority', 2).single())
await step('maybeSingle none', () => c1.from('todos').select('slug').eq('slug', 'nope').maybeSingle())
await step('maybeSingle one', () => c1.from('todos').select('slug').eq('slug', 'dog').maybeSingle())

// --- upsert: merge on the primary key, merge on a unique column, insert, ignore
const up = (slug, title, priority, list) => ({ slug, title, priority, note: null, list_id: list ? ids.list : null, user_id: uid1 })
await step('upsert merge pk', () => c1.from('todos').upsert({ id: ids.milk, ...row('milk', 'Buy oat milk', 1, '2 litres', true) }).select())
await step('upsert merge on_conflict', () => c1.from('todos').upsert(up('eggs', 'Buy a dozen eggs', 2, true), { onConflict: 'slug' }).select('slug,title'))
await step('upsert insert', () => c1.from('todos').upsert(up('bread', 'Bake bread', 6), { onConflict: 'slug' }).select('slug,title'))
await step('upsert ignore', () => c1.from('todos').upsert(up('dog', 'IGNORED', 3), { onConflict: 'slug', ignoreDuplicates: true }).select('slug,title'))
await step('after upsert ignore', () => c1.from('todos').select('title').eq('slug', 'dog').single())

// --- update, delete
await step('update', () => c1.from('todos').update({ done: true }).eq('slug', 'dog').select('slug,done'))
await step('update in', () => c1.from('todos').update({ priority: 7 }).in('slug', ['plants', 'bread']).select('slug,priority'))
await step('update minimal', () => c1.from('todos').update({ note: 'kneaded' }).eq('slug', 'bread'))
await step('delete', () => c1.from('todos').delete().eq('slug', 'minimal').select('slug'))
await step('after delete', () => c1.from('todos').select('slug', { count: 'exact', head: true }))

// --- embedding over the todos.list_id -> lists.id foreign key
await step('embed many-to-one', () => c1.from('todos').select('slug, lists(name)').eq('slug', 'milk').single())
await step('embed alias', () => c1.from('todos').select('slug, list:lists(name)').eq('slug', 'milk').single())
await step('embed one-to-many', () => c1.from('lists').select('name, todos(slug)').eq('id', ids.list).single())
await step('embed filtered', () => c1.from('lists').select('name, todos(slug)').eq('id', ids.list).eq('todos.slug', 'eggs').single())

// --- rpc (PostgreSQL stores only)
if (engine === 'postgres') {
  await step('rpc args', () => c1.rpc('add_them', { a: 2, b: 3 }))
  await step('rpc rls c1', () => c1.rpc('my_todo_count'))
  await step('rpc rls c2', () => c2.rpc('my_todo_count'))
  await step('rpc get', () => anon.rpc('add_them', { a: 4, b: 5 }, { get: true }))
}

// --- newer PostgREST grammar on the read-only notes table, the way an app writes it
const notes = () => anon.from('notes').select('id').order('id')
await step('json path select', () => anon.from('notes').select('id, color:meta->>color, meta->size').order('id'))
await step('json path filter', () => notes().eq('meta->>color', 'red'))
await step('textSearch', () => notes().textSearch('body', 'fat & cats', { config: 'english' }))
await step('textSearch websearch', () => notes().textSearch('body', 'fat -cats', { type: 'websearch', config: 'english' }))
await step('contains json', () => notes().contains('meta', { color: 'red' }))
if (engine === 'postgres') {
  await step('contains array', () => notes().contains('tags', ['a']))
  await step('overlaps array', () => notes().overlaps('tags', ['b', 'z']))
}
await step('aggregate', () => anon.from('notes').select('kind, count(), points.sum()').order('kind'))
await step('like any', () => notes().likeAnyOf('body', ['fat%', 'the%']))

// --- row-level security / the ownership rule
await step('rls c2 select', () => c2.from('todos').select('slug,user_id'))
await step('rls c2 update other', () => c2.from('todos').update({ title: 'hacked' }).eq('slug', 'milk').select())
await step('rls c2 delete other', () => c2.from('todos').delete().eq('slug', 'eggs').select())
await step('rls c2 insert as other', () => c2.from('todos').insert({ slug: `forged-${stamp}`, title: 'forged', user_id: uid1 }).select())
await step('rls c2 embed', () => c2.from('lists').select('name, todos(slug)').eq('id', ids.list).single())
await step('rls c1 intact', () => c1.from('todos').select('slug,title').in('slug', ['milk', 'eggs']).order('slug'))
await step('rls anon select', () => anon.from('todos').select('slug'))
await step('rls anon lists', () => anon.from('lists').select('name').eq('id', ids.list))
await step('rls anon insert', () => anon.from('lists').insert({ name: 'anon was here' }))
await step('rls service select', () => admin.from('todos').select('slug', { count: 'exact' }).in('user_id', [uid1, uid2]))

console.log(JSON.stringify({ engine, users, ids, results }))
