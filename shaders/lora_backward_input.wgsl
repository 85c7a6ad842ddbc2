// lora_backward_input: first pass of LoRA's backward, one workgroup per token row:
//   du = scale * dout @ B  (overwrites the du scratch),  dinp += dropout'(du @ A)
// where dropout' keeps and scales the elements that lora_forward kept (the same dropout(), from lora_dropout.wgsl).
// Reads dout, A, Bw; writes du; accumulates into dinp. Dispatch: grid2(N) workgroups of WG lanes (256 as written; the wrapper sizes it to the rank). R <= WG.
@group(0) @binding(0) var<storage, read_write> dinp: array<f32>; // (N, C)
@group(0) @binding(1) var<storage, read_write> du: array<f32>;   // (N, R)
@group(0) @binding(2) var<storage, read> dout: array<f32>;       // (N, OC)
@group(0) @binding(3) var<storage, read> A: array<f32>;          // (R, C)
@group(0) @binding(4) var<storage, read> Bw: array<f32>;         // (OC, R)
struct Params { N: u32, C: u32, R: u32, OC: u32, scale: f32, seed: u32, threshold: u32, keepScale: f32 }
@group(0) @binding(5) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;
var<workgroup> duRow: array<f32, WG>; // (R)

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let n = wid.y * nwg.x + wid.x;
  if (n >= p.N) { return; }
  let seedHash = hash32(p.seed);
  let lanes = WG / p.R;
  let r = lid / lanes;
  let g = lid % lanes;
  var sum = 0.0;
  if (r < p.R) {
    for (var o = g; o < p.OC; o += lanes) {
      sum += dout[n * p.OC + o] * Bw[o * p.R + r];
    }
  }
  partial[lid] = sum;
  workgroupBarrier();
  if (lid < p.R) {
    var total = 0.0;
    for (var j = 0u; j < lanes; j++) { total += partial[lid * lanes + j]; }
    duRow[lid] = p.scale * total;
    du[n * p.R + lid] = p.scale * total;
  }
  workgroupBarrier();
  for (var c = lid; c < p.C; c += WG) {
    var acc = 0.0;
    for (var j = 0u; j < p.R; j++) { acc += duRow[j] * A[j * p.C + c]; }
    dinp[n * p.C + c] += dropout(acc, n * p.C + c, seedHash);
  }
}
