// The network Comm backends that init_comm (rendezvous.cpp) builds once the ranks have met at the store:
// Gloo for CPU tensors, NCCL for CUDA tensors (only in builds with NCCL).
#pragma once
#include <chrono>
#include <memory>
#include <string>

#include "dist/comm.hpp"

namespace zt::dist {

class TcpStore;

struct BackendOptions {
  int rank = 0;
  int size = 1;
  std::string key_prefix;                 // store keys of this communicator start with it
  std::chrono::milliseconds timeout{600'000};  // one collective (and the backend's own connection set-up)
  std::string master_addr;                // Gloo listens on the local address that routes here...
  int master_port = 0;
  std::string gloo_ifname;                // ...or on this interface (GLOO_SOCKET_IFNAME) when set
  int cuda_device = 0;                    // NCCL: the GPU this rank uses
  int max_ctas = 0;                       // NCCL: cap on the CTAs (SMs) one collective uses (0: NCCL's choice)
  bool copy_engine = false;               // NCCL: zero-CTA policy and registered gather buffers (copy-engine gathers)
  bool trace = false;                     // NCCL: time compute's waits for collectives and the gathers; report at exit
};

// `keep_alive` is owned by the returned Comm (the store and rank 0's server live as long as it).
std::unique_ptr<Comm> make_gloo_comm(TcpStore& store, const BackendOptions& opts, std::shared_ptr<void> keep_alive);
#ifdef ZT_HAVE_NCCL
std::unique_ptr<Comm> make_nccl_comm(TcpStore& store, const BackendOptions& opts, std::shared_ptr<void> keep_alive);
#endif

}  // namespace zt::dist
