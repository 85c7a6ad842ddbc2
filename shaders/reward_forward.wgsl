// reward_forward: rewards[m] = dot(hidden[m, :], score), the reward head (Hugging Face
// LlamaForSequenceClassification's `score`, Linear(C, 1) without bias) on each sequence's last-token hidden
// state, gathered by the caller.
// Reads hidden, score; writes rewards (no accumulation).
@group(0) @binding(0) var<storage, read_write> rewards: array<f32>; // (M)
@group(0) @binding(1) var<storage, read> hidden: array<f32>;        // (M, C)
@group(0) @binding(2) var<storage, read> score: array<f32>;         // (C)
struct Params { M: u32, C: u32 }
@group(0) @binding(3) var<uniform> p: Params;

const WG = 256u;
var<workgroup> partial: array<f32, WG>;

// Dispatch: grid2(M) workgroups of WG lanes (256 as written; the wrapper sizes it to C, a power of two).
@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let m = wid.y * nwg.x + wid.x;
  if (m >= p.M) { return; }
  let row = m * p.C;
  var sum = 0.0;
  for (var c = lid; c < p.C; c += WG) {
    sum = fma(hidden[row + c], score[c], sum);
  }
  partial[lid] = sum;
  for (var stride = WG / 2u; stride > 0u; stride >>= 1u) {
    workgroupBarrier();
    if (lid < stride) { partial[lid] += partial[lid + stride]; }
  }
  if (lid == 0u) { rewards[m] = partial[0]; }
}
