// lora_forward: the low-rank update added to a frozen projection's output (PEFT's LoRA):
//   u = dropout(inp) @ A^T,  out += scale * u @ B^T
// dropout() and hash32() are in lora_dropout.wgsl, which the wrapper appends.
// Reads inp, A, Bw; writes u (saved for the backward pass); accumulates into out.
// Dispatch: one workgroup per token row, grid2(N), of WG lanes (256 as written; the wrapper sizes it to the rank). R <= WG.
@group(0) @binding(0) var<storage, read_write> out: array<f32>; // (N, OC)
@group(0) @binding(1) var<storage, read_write> u: array<f32>;   // (N, R)
@group(0) @binding(2) var<storage, read> inp: array<f32>;       // (N, C)
@group(0) @binding(3) var<storage, read> A: array<f32>;         // (R, C)
@group(0) @binding(4) var<storage, read> Bw: array<f32>;        // (OC, R)
struct Params { N: u32, C: u32, R: u32, OC: u32, scale: f32, seed: u32, threshold: u32, keepScale: f32 }
@group(0) @binding(5) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;
var<workgroup> uRow: array<f32, WG>; // (R)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = wid.y * nwg.x + wid.x;
  if (n >= p.N) { return; }
  let seedHash = hash32(p.seed);
  // WG / R lanes per rank, each summing a strided slice of the row; lanes of one rank read adjacent columns.
  let lanes = WG / p.R;
  let r = lid / lanes;
  let g = lid % lanes;
  var sum = 0.0;
  if (r < p.R) {
    for (var c = g; c < p.C; c += lanes) {
      sum += dropout(inp[n * p.C + c], n * p.C + c, seedHash) * A[r * p.C + c];
    }
  }
  partial[lid] = sum;
  workgroupBarrier();
  if (lid < p.R) {
    var total = 0.0;
    for (var j = 0u; j < lanes; j++) { total += partial[lid * lanes + j]; }
    uRow[lid] = total;
    u[n * p.R + lid] = total;
  }
  workgroupBarrier();
  for (var o = lid; o < p.OC; o += WG) {
    var acc = 0.0;
    for (var j = 0u; j < p.R; j++) { acc += uRow[j] * Bw[o * p.R + j]; }
    out[n * p.OC + o] += p.scale * acc;
  }
}
