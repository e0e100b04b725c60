// Hostfiles and resource selection with DeepSpeed's rules: `NAME slots=N` lines, --include/--exclude
// (`NODE[:SLOT[,SLOT]]@NODE...`), --num_nodes, --num_gpus, local GPUs and CUDA_VISIBLE_DEVICES; the world layout.
#pragma once
#include <optional>
#include <string>
#include <vector>

namespace zt::launch {

// One `NAME slots=N` line of a hostfile.
struct HostEntry {
  std::string name;  // as written, possibly user@host
  int slots = 0;
  int line = 0;      // 1-based line number in the hostfile
  std::string text;  // the line as written (stripped)
};

struct Hostfile {
  std::string path;
  std::vector<HostEntry> hosts;  // in file order: the first is node 0 (the master)
  const HostEntry* find(const std::string& name) const;
};

// Parses hostfile text exactly as DeepSpeed does: each stripped line is skipped when empty or starting with '#',
// else must match `^(\S+)\s+slots=(\d+)` (anything may follow). Errors quote the line and its number; a
// duplicate host, slots=0 and a file without hosts are errors too. `path` is only used in messages.
Hostfile parse_hostfile(const std::string& text, const std::string& path);

// Reads a hostfile. A missing file is nullopt (local resources) when `explicit_path` is false (DeepSpeed's
// default /job/hostfile); a path the user named must exist.
std::optional<Hostfile> read_hostfile(const std::string& path, bool explicit_path);

// A node of the job and the slots (GPU indices, or CPU worker numbers) it runs ranks on.
struct Node {
  std::string host;        // hostfile name (user@host allowed), or "localhost"
  std::vector<int> slots;  // sorted, unique
  int hostfile_line = 0;   // 0 when not from a hostfile
};

// Applies an --include or --exclude string to a pool (DeepSpeed's parse_resource_filter): `flag` names the flag
// for messages. Hosts keep the pool's order; slots come out sorted and unique; hosts left without slots go.
std::vector<Node> filter_resources(const std::vector<Node>& pool, const std::string& spec, bool include,
                                   const std::string& flag);

// What the launcher flags ask for.
struct ResourceFlags {
  std::string include, exclude;  // empty = not given
  int num_nodes = -1;            // -1 = not given
  int num_gpus = -1;             // -1 = not given (--num_gpus / --num_accelerators)
};

// This machine's accelerators, for launches without a hostfile.
struct LocalDevices {
  int gpu_count = 0;                                 // physical GPUs found
  std::optional<std::string> cuda_visible_devices;  // the launcher's CUDA_VISIBLE_DEVICES, if set
};

// Counts NVIDIA GPUs from /proc/driver/nvidia/gpus, else `nvidia-smi -L`; 0 when neither shows any.
int count_local_gpus();
LocalDevices probe_local_devices();

struct Selection {
  std::vector<Node> nodes;  // in node-rank order, each with at least one slot
  bool from_hostfile = false;
  bool cpu_ranks = false;   // no GPUs: the slots are CPU worker processes, CUDA_VISIBLE_DEVICES is not set
  std::vector<std::string> notes;  // things the launcher should tell the user (e.g. CUDA_VISIBLE_DEVICES used)
};

// DeepSpeed's runner.py resource rules (with errors where DeepSpeed silently misbehaves, e.g. --num_nodes larger
// than the hostfile or --num_gpus larger than a host's slots). Every error names the flag or the hostfile line.
Selection select_resources(const std::optional<Hostfile>& hostfile, const ResourceFlags& flags,
                           const LocalDevices& local);

// Global ranks: node by node in order, local ranks 0..slots-1 within a node.
struct WorldLayout {
  std::vector<Node> nodes;
  std::vector<int> first_rank;  // global rank of each node's local rank 0
  int world_size = 0;
  int rank_of(int node, int local_rank) const { return first_rank[node] + local_rank; }
};
WorldLayout make_layout(std::vector<Node> nodes);

// "0,1,3" for a slot list (the node's CUDA_VISIBLE_DEVICES).
std::string join_slots(const std::vector<int>& slots);

}  // namespace zt::launch
