// Independent Parquet oracle for zerotune's reader tests, using npm hyparquet (reader) and hyparquet-writer.
//   node parquet_oracle.mjs <node_modules> read <file>...   -> {"<file>": [rows...]} (int64 exact, strings UTF-8)
//   node parquet_oracle.mjs <node_modules> write <dir>      -> files written by hyparquet-writer + <dir>/expected.json
import fs from 'node:fs'
import path from 'node:path'
import { pathToFileURL } from 'node:url'

const [modules, mode, ...args] = process.argv.slice(2)
const load = (p) => import(pathToFileURL(path.join(modules, p)).href)

function dump(value) {
  const text = JSON.stringify(value, (k, v) => {
    if (typeof v === 'bigint') return `__BIGINT__${v}`
    if (v instanceof Uint8Array) return new TextDecoder().decode(v)
    return v
  })
  return text.replace(/"__BIGINT__(-?\d+)"/g, '$1')
}

if (mode === 'read') {
  const { parquetReadObjects } = await load('hyparquet/src/node.js')
  const { compressors } = await load('hyparquet-compressors/src/index.js')
  const out = {}
  for (const f of args) {
    const buf = fs.readFileSync(f)
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength)
    out[f] = await parquetReadObjects({ file, compressors, utf8: true })
  }
  process.stdout.write(dump(out) + '\n')
} else if (mode === 'write') {
  const { parquetWriteBuffer } = await load('hyparquet-writer/src/node.js')
  const dir = args[0]
  const n = 37
  const extras = ['', 'héllo wörld', '日本語', '🤖🚀', 'tab\tnl\n', 'q"\\']
  const prompt = [], chosen = [], rejected = [], id = [], small = []
  for (let i = 0; i < n; i++) {
    prompt.push(`\n\nHuman: topic ${i % 5}${extras[i % extras.length]}\n\nAssistant:`)
    chosen.push(' answer '.repeat(1 + (i % 3)) + extras[(i + 2) % extras.length])
    rejected.push(i % 4 === 1 ? null : (i % 2 ? ' no' : ''))
    id.push(BigInt(i) * 98765432109n - 1000000000000n)
    small.push(i % 3 === 0 ? null : (i % 5) - 2)
  }
  const expected = { rows: [], files: [] }
  for (let i = 0; i < n; i++) expected.rows.push({ prompt: prompt[i], chosen: chosen[i], rejected: rejected[i], id: id[i], small: small[i] })
  for (const codec of ['UNCOMPRESSED', 'SNAPPY']) {
    for (const encoding of ['PLAIN', 'RLE_DICTIONARY']) {
      const enc = encoding === 'PLAIN' ? { encoding: 'PLAIN' } : {}
      const name = `hyparquet_${codec.toLowerCase()}_${encoding.toLowerCase()}.parquet`
      const ab = parquetWriteBuffer({
        codec,
        rowGroupSize: 10,
        pageSize: 64,
        statistics: false,
        columnData: [
          { name: 'prompt', data: prompt, type: 'STRING', nullable: false, ...enc },
          { name: 'chosen', data: chosen, type: 'STRING', ...enc },
          { name: 'rejected', data: rejected, type: 'STRING', ...enc },
          { name: 'id', data: id, type: 'INT64', nullable: false, ...enc },
          { name: 'small', data: small, type: 'INT32', ...enc },
        ],
      })
      fs.writeFileSync(path.join(dir, name), new Uint8Array(ab))
      expected.files.push(name)
    }
  }
  fs.writeFileSync(path.join(dir, 'expected.json'), dump(expected) + '\n')
} else {
  console.error('usage: parquet_oracle.mjs <node_modules> read <file>... | write <dir>')
  process.exit(2)
}
