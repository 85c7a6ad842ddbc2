// reward_backward_weight: dscore[c] += sum_m drewards[m] * hidden[m, c], the weight gradient of the reward
// head rewards[m] = dot(hidden[m, :], score). M counts sequences (a batch), so each invocation sums its
// column over all M serially.
// Reads drewards, hidden; accumulates into dscore (one invocation owns one element).
@group(0) @binding(0) var<storage, read_write> dscore: array<f32>; // (C)
@group(0) @binding(1) var<storage, read> drewards: array<f32>;     // (M)
@group(0) @binding(2) var<storage, read> hidden: array<f32>;       // (M, C)
struct Params { M: u32, C: u32 }
@group(0) @binding(3) var<uniform> p: Params;

// Dispatch: grid2(ceil(C / 256)) workgroups of 256, one element of dscore per invocation.
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let c = gid.y * nwg.x * 256u + gid.x;
  if (c >= p.C) { return; }
  var sum = 0.0;
  for (var m = 0u; m < p.M; m++) {
    sum = fma(drewards[m], hidden[m * p.C + c], sum);
  }
  dscore[c] += sum;
}
