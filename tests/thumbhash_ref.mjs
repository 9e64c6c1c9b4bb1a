// Generator of tests/thumbhash_vectors.h: the reference encoder's ThumbHashes
// (the npm package thumbhash, rgbaToThumbHash) of the test images that
// tests/test_thumbhash.c draws with the same formulas. The unit test needs
// neither Node nor the package; run this only to make the header again:
//
//   mkdir -p /tmp/th && cd /tmp/th && npm install thumbhash
//   node tests/thumbhash_ref.mjs /tmp/th/node_modules/thumbhash/thumbhash.js \
//       > tests/thumbhash_vectors.h
//
// Each image's pixel (x, y) is image(x, y) below, in 0..255 integers; keep
// the formulas identical to test_thumbhash.c's draw().
import { pathToFileURL } from 'node:url'

const lib = process.argv[2]
if (!lib) {
  console.error('usage: node thumbhash_ref.mjs PATH/TO/thumbhash.js')
  process.exit(2)
}
const { rgbaToThumbHash } = await import(pathToFileURL(lib).href)

const div = (a, b) => Math.floor(a / b)
const images = [
  ['gradient', 32, 32, (x, y) => [div(x * 255, 31), div(y * 255, 31), (x + y) * 4, 255]],
  ['solid', 16, 16, () => [30, 144, 255, 255]],
  ['alpha', 40, 40, (x, y) => [x * 6, 200, y * 6, div((x + y) * 255, 78)]],
  ['wide', 100, 37, (x, y) => [(x * x + y * 3) & 255, ((x * 7) ^ (y * 13)) & 255, ((x + y * 2) * 2) & 255, 255]],
  ['tall_alpha', 37, 100, (x, y) => [(x * 5) & 255, (y * 2) & 255, 90, y < 50 ? 255 : (x * 7) & 255]],
  ['one', 1, 1, () => [220, 20, 60, 255]],
  ['transparent', 10, 10, () => [50, 60, 70, 0]],
  ['full', 100, 100, (x, y) => [(x * y) & 255, (x * 2 + y) & 255, (255 - x - y) & 255, 255]],
]

const hex = (b) => '0x' + b.toString(16).padStart(2, '0')
console.log('/* Made by tests/thumbhash_ref.mjs from the reference encoder (npm thumbhash,')
console.log(' * rgbaToThumbHash): do not edit. One row per image of test_thumbhash.c. */')
console.log('static const struct thumbhash_vector {')
console.log('    const char *name;')
console.log('    int w, h;')
console.log('    int len;')
console.log('    unsigned char hash[25];')
console.log('    const char *base64;')
console.log('} thumbhash_vectors[] = {')
for (const [name, w, h, f] of images) {
  const rgba = new Uint8Array(w * h * 4)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) rgba.set(f(x, y), (y * w + x) * 4)
  const hash = rgbaToThumbHash(w, h, rgba)
  const b64 = Buffer.from(hash).toString('base64')
  console.log(`    {"${name}", ${w}, ${h}, ${hash.length},`)
  console.log(`     {${Array.from(hash, hex).join(', ')}},`)
  console.log(`     "${b64}"},`)
}
console.log('};')
