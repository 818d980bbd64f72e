// torch.distributed over libtorch's c10d: a TCPStore for rendezvous, process groups (Gloo on the CPU, NCCL on CUDA
// where the libtorch in use has it) and DistributedDataParallel's gradient all-reduce: gradients are gathered into
// flat buckets of about 25 MB as autograd accumulates them (a post-hook on each parameter's AccumulateGrad node), and a
// bucket's all-reduce starts as soon as it is full, while backward goes on. Buckets start strictly in order on every
// rank, as collectives must be issued in the same order everywhere.
#include "llm.h"

#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/variable.h>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef LLM_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef LLM_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <cstring>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#if LLM_TORCH_VERSION >= 200
using llm_backend_t = c10d::Backend;
#else
using llm_backend_t = c10d::ProcessGroup;
#endif

struct llm_store {
    c10::intrusive_ptr<c10d::Store> store;
};

struct llm_pg {
    c10::intrusive_ptr<llm_backend_t> backend;
    int rank = 0;
    int size = 1;
};

namespace {

std::chrono::milliseconds ms(int64_t v) { return std::chrono::milliseconds(v); }

// Holds back what is written to std::cerr while it lives: recent Gloo versions print a line per connected peer there,
// and the other ranks of a job print nothing but errors (which reach the caller as exceptions).
class QuietStderr {
   public:
    QuietStderr() {
        std::lock_guard<std::mutex> lock(mutex());
        if (depth()++ == 0) saved() = std::cerr.rdbuf(discard().rdbuf());
    }
    ~QuietStderr() {
        std::lock_guard<std::mutex> lock(mutex());
        if (--depth() == 0) {
            std::cerr.rdbuf(saved());
            discard().str("");
        }
    }
    QuietStderr(const QuietStderr&) = delete;
    QuietStderr& operator=(const QuietStderr&) = delete;

   private:
    // Shared by every thread that makes a group at the same time; the first one in holds back, the last one out restores.
    static std::mutex& mutex() { static std::mutex m; return m; }
    static int& depth() { static int d = 0; return d; }
    static std::streambuf*& saved() { static std::streambuf* s = nullptr; return s; }
    static std::ostringstream& discard() { static std::ostringstream* o = new std::ostringstream(); return *o; }
};

#ifdef LLM_WITH_GLOO
// Gloo's network device: the interface named by GLOO_SOCKET_IFNAME (as in PyTorch), the loopback address for a
// single-machine rendezvous, else this machine's hostname.
std::shared_ptr<::gloo::transport::Device> gloo_device(const std::string& master) {
    if (const char* ifname = std::getenv("GLOO_SOCKET_IFNAME"); ifname != nullptr && *ifname != '\0')
        return c10d::ProcessGroupGloo::createDeviceForInterface(ifname);
    if (master == "localhost" || master.rfind("127.", 0) == 0)
        return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
    return c10d::ProcessGroupGloo::createDefaultDevice();
}
#endif

}  // namespace

// Which backends this libtorch provides: bit 0 Gloo, bit 1 NCCL.
LLM_API int32_t llm_dist_backends() noexcept {
    int32_t bits = 0;
#ifdef LLM_WITH_GLOO
    bits |= 1;
#endif
#ifdef LLM_WITH_NCCL
    bits |= 2;
#endif
    return bits;
}

// A TCPStore client (the server too when is_server: the rank that hosts the rendezvous). Operations wait up to
// timeout_ms for a key, and connecting waits as long for the server.
LLM_API int32_t llm_store_open(const char* host, int32_t port, int32_t is_server, int64_t timeout_ms, llm_store** out) {
    LLM_TRY({
        *out = nullptr;
        c10d::TCPStoreOptions opts;
        opts.port = static_cast<std::uint16_t>(port);
        opts.isServer = is_server != 0;
        opts.waitWorkers = false;
        opts.timeout = ms(timeout_ms);
#if LLM_TORCH_VERSION >= 202
        // PyTorch's own builds serve the store with libuv (the default since 2.4); a libtorch built without it (Debian's)
        // refuses that, and then the classic server is used, as PyTorch does with USE_LIBUV=0.
        try {
            *out = new llm_store{c10::make_intrusive<c10d::TCPStore>(std::string(host), opts)};
            return 0;
        } catch (const c10::Error& e) {
            if (std::string(e.what()).find("libuv") == std::string::npos) throw;
        }
        opts.useLibUV = false;
#endif
        *out = new llm_store{c10::make_intrusive<c10d::TCPStore>(std::string(host), opts)};
    })
}

LLM_API void llm_store_free(llm_store* s) noexcept { delete s; }

LLM_API int32_t llm_store_set(llm_store* s, const char* key, const uint8_t* value, int32_t len) {
    LLM_TRY({ s->store->set(key, std::vector<uint8_t>(value, value + len)); })
}

// Waits for the key (up to the store's timeout) and copies at most cap bytes of its value; *len is the full length.
LLM_API int32_t llm_store_get(llm_store* s, const char* key, uint8_t* buf, int32_t cap, int32_t* len) {
    LLM_TRY({
        auto v = s->store->get(key);
        *len = static_cast<int32_t>(v.size());
        std::memcpy(buf, v.data(), std::min<size_t>(v.size(), static_cast<size_t>(cap)));
    })
}

LLM_API int32_t llm_store_check(llm_store* s, const char* key, int32_t* exists) {
    LLM_TRY({ *exists = s->store->check({std::string(key)}) ? 1 : 0; })
}

LLM_API int32_t llm_store_add(llm_store* s, const char* key, int64_t delta, int64_t* value) {
    LLM_TRY({ *value = s->store->add(key, delta); })
}

// A process group of `size` ranks over the store, its keys under `prefix`. backend: 0 Gloo, 1 NCCL. Collectives fail
// after timeout_ms; a peer that exits makes them fail at once (its connections close).
LLM_API int32_t llm_pg_new(llm_store* s, const char* prefix, int32_t backend, int32_t rank, int32_t size, int64_t timeout_ms,
                           const char* master, llm_pg** out) {
    LLM_TRY({
        *out = nullptr;
        auto store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), s->store);
        auto pg = std::make_unique<llm_pg>();
        pg->rank = rank;
        pg->size = size;
        if (backend == 0) {
#ifdef LLM_WITH_GLOO
            auto opts = c10d::ProcessGroupGloo::Options::create(ms(timeout_ms));
            opts->devices.push_back(gloo_device(master));
            opts->threads = 2;
            QuietStderr quiet;
            pg->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, opts);
#else
            throw std::invalid_argument("llmtrain's native library was built without Gloo (its headers, Debian's libgloo-dev, were missing); "
                                        "install them and rebuild with scripts/setup.sh");
#endif
        } else if (backend == 1) {
#ifdef LLM_WITH_NCCL
            auto opts = c10d::ProcessGroupNCCL::Options::create();
            opts->timeout = ms(timeout_ms);
            pg->backend = c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, opts);
#else
            throw std::invalid_argument("this libtorch has no NCCL backend; use --dist-backend gloo");
#endif
        } else {
            throw std::invalid_argument("unknown backend " + std::to_string(backend));
        }
        *out = pg.release();
    })
}

LLM_API void llm_pg_free(llm_pg* pg) noexcept { delete pg; }

// In-place all-reduce of the tensors (op 0 sum, 1 max), waiting for it.
LLM_API int32_t llm_pg_allreduce(llm_pg* pg, const llm_tensor* ts, int32_t n, int32_t op) {
    LLM_TRY({
        std::vector<at::Tensor> v = llm::tensor_list(ts, n);
        c10d::AllreduceOptions opts;
        opts.reduceOp = op == 1 ? c10d::ReduceOp::MAX : c10d::ReduceOp::SUM;
        for (auto& t : v) {
            std::vector<at::Tensor> one{t};
            pg->backend->allreduce(one, opts)->wait();
        }
    })
}

// Every rank's tensors become root's.
LLM_API int32_t llm_pg_broadcast(llm_pg* pg, const llm_tensor* ts, int32_t n, int32_t root) {
    LLM_TRY({
        c10d::BroadcastOptions opts;
        opts.rootRank = root;
        for (int32_t k = 0; k < n; k++) {
            std::vector<at::Tensor> one{*ts[k]};
            pg->backend->broadcast(one, opts)->wait();
        }
    })
}

LLM_API int32_t llm_pg_barrier(llm_pg* pg) {
    LLM_TRY({ pg->backend->barrier(c10d::BarrierOptions())->wait(); })
}

// ---------------------------------------------------------------------------------------------------------------------
// DistributedDataParallel's reducer.

struct llm_ddp;

namespace {

struct Bucket {
    std::vector<int> params;        // indices into llm_ddp::params
    std::vector<int64_t> offsets;   // element offset of each parameter in the flat buffer
    at::Tensor flat;
    int pending = 0;                // parameters whose gradient has not arrived in this backward
    bool launched = false;
    c10::intrusive_ptr<c10d::Work> work;
    // When the all-reduce started and finished (set by the work's completion callback, where the backend has one).
    std::chrono::steady_clock::time_point started;
    std::unique_ptr<std::atomic<int64_t>> finished_ns = std::make_unique<std::atomic<int64_t>>(0);
    bool timed = false;
};

struct ReadyHook : torch::autograd::FunctionPostHook {
    llm_ddp* ddp;
    int index;
    ReadyHook(llm_ddp* d, int i) : ddp(d), index(i) {}
    torch::autograd::variable_list operator()(const torch::autograd::variable_list& outputs,
                                              const torch::autograd::variable_list& inputs) override;
};

}  // namespace

struct llm_ddp {
    llm_pg* pg = nullptr;
    std::vector<at::Tensor> params;
    std::vector<decltype(torch::autograd::impl::grad_accumulator(std::declval<at::Tensor&>()))> accumulators;
    std::vector<int> bucket_of;       // parameter → bucket
    std::vector<char> arrived;        // parameter's gradient arrived in this backward
    std::vector<Bucket> buckets;
    std::mutex mutex;
    bool syncing = false;             // whether this backward's gradients are the ones to reduce
    bool overlap = true;
    int next_bucket = 0;              // the first bucket not launched yet
    int launched_in_backward = 0;     // statistics of the last finish
    double wait_seconds = 0;

    // Copies the parameter's gradient into its bucket; launches every bucket that is full, in order.
    void mark_ready(int i) {
        std::lock_guard<std::mutex> lock(mutex);
        if (!syncing || arrived[i]) return;
        arrived[i] = 1;
        Bucket& b = buckets[bucket_of[i]];
        copy_in(b, i);
        b.pending--;
        while (next_bucket < static_cast<int>(buckets.size()) && buckets[next_bucket].pending == 0) {
            launch(buckets[next_bucket]);
            next_bucket++;
            launched_in_backward++;
        }
    }

    void copy_in(Bucket& b, int i) {
        int slot = static_cast<int>(std::find(b.params.begin(), b.params.end(), i) - b.params.begin());
        const at::Tensor& p = params[i];
        at::Tensor dst = b.flat.narrow(0, b.offsets[slot], p.numel());
        const at::Tensor& g = p.grad();
        at::NoGradGuard no_grad;
        if (g.defined()) dst.copy_(g.reshape({-1}));
        else dst.zero_();
    }

    void launch(Bucket& b) {
        std::vector<at::Tensor> one{b.flat};
        b.started = std::chrono::steady_clock::now();
        b.finished_ns->store(0);
        b.work = pg->backend->allreduce(one, c10d::AllreduceOptions());
        b.launched = true;
        b.timed = false;
        try {
            std::atomic<int64_t>* finished = b.finished_ns.get();
            b.work->getFuture()->addCallback([finished](c10::ivalue::Future&) {
                finished->store(std::chrono::steady_clock::now().time_since_epoch().count());
            });
            b.timed = true;
        } catch (const std::exception&) {
            // a backend without futures: no timing
        }
    }
};

namespace {

torch::autograd::variable_list ReadyHook::operator()(const torch::autograd::variable_list& outputs,
                                                     const torch::autograd::variable_list& inputs) {
    if (ddp->overlap) ddp->mark_ready(index);
    return outputs;
}

}  // namespace

// Buckets the parameters (in reverse order, as gradients arrive roughly from the last layer to the first) into flat
// buffers of about bucket_bytes (the first of 1 MB), one dtype and device per bucket, and hooks each parameter's gradient accumulator.
// overlap 0: no hooks; every bucket is reduced in llm_ddp_finish (for backward passes that accumulate a gradient more than
// once, as recomputing checkpointed segments does).
LLM_API int32_t llm_ddp_new(llm_pg* pg, const llm_tensor* params, int32_t n, int64_t bucket_bytes, int32_t overlap, llm_ddp** out) {
    LLM_TRY({
        *out = nullptr;
        auto ddp = std::make_unique<llm_ddp>();
        ddp->pg = pg;
        ddp->overlap = overlap != 0;
        for (int32_t k = 0; k < n; k++) ddp->params.push_back(*params[k]);
        ddp->bucket_of.assign(n, -1);
        ddp->arrived.assign(n, 0);
        // As PyTorch's DDP: a bucket closes once it holds its cap; the first one's cap is 1 MB, so that the gradients
        // ready first start on the wire soon.
        const int64_t first_cap = std::min<int64_t>(bucket_bytes, 1 << 20);
        int64_t bytes = 0;
        for (int32_t k = n - 1; k >= 0; k--) {
            const at::Tensor& p = ddp->params[k];
            if (!p.requires_grad()) continue;
            bool fresh = ddp->buckets.empty() || bytes >= (ddp->buckets.size() == 1 ? first_cap : bucket_bytes);
            if (!fresh) {
                const at::Tensor& first = ddp->params[ddp->buckets.back().params[0]];
                fresh = first.scalar_type() != p.scalar_type() || first.device() != p.device();
            }
            if (fresh) {
                ddp->buckets.emplace_back();
                bytes = 0;
            }
            Bucket& b = ddp->buckets.back();
            b.offsets.push_back(b.params.empty() ? 0 : b.offsets.back() + ddp->params[b.params.back()].numel());
            b.params.push_back(k);
            ddp->bucket_of[k] = static_cast<int>(ddp->buckets.size()) - 1;
            bytes += p.numel() * static_cast<int64_t>(p.element_size());
        }
        for (auto& b : ddp->buckets) {
            const at::Tensor& last = ddp->params[b.params.back()];
            b.flat = at::empty({b.offsets.back() + last.numel()}, last.options().requires_grad(false));
        }
        if (ddp->overlap) {
            for (int32_t k = 0; k < n; k++) {
                if (!ddp->params[k].requires_grad()) continue;
                auto acc = torch::autograd::impl::grad_accumulator(ddp->params[k]);
                acc->add_post_hook(std::make_unique<ReadyHook>(ddp.get(), k));
                ddp->accumulators.push_back(acc);
            }
        }
        *out = ddp.release();
    })
}

// Hooks hold a pointer to the reducer: they are removed with it.
LLM_API void llm_ddp_free(llm_ddp* ddp) noexcept {
    if (ddp == nullptr) return;
    try {
        for (auto& acc : ddp->accumulators) {
            auto& hooks = acc->post_hooks();
            hooks.erase(std::remove_if(hooks.begin(), hooks.end(),
                                       [ddp](const std::unique_ptr<torch::autograd::FunctionPostHook>& h) {
                                           auto* r = dynamic_cast<ReadyHook*>(h.get());
                                           return r != nullptr && r->ddp == ddp;
                                       }),
                        hooks.end());
        }
    } catch (...) {
    }
    delete ddp;
}

// Before a micro-step's backward: sync 1 when it is the last micro-step of the optimizer step (its gradients, now
// complete, are reduced as they arrive), 0 for the micro-steps before it (gradients only accumulate locally).
LLM_API int32_t llm_ddp_prepare(llm_ddp* ddp, int32_t sync) {
    LLM_TRY({
        std::lock_guard<std::mutex> lock(ddp->mutex);
        ddp->syncing = sync != 0;
        std::fill(ddp->arrived.begin(), ddp->arrived.end(), 0);
        for (auto& b : ddp->buckets) {
            b.pending = static_cast<int>(b.params.size());
            b.launched = false;
            b.work.reset();
        }
        ddp->next_bucket = 0;
        ddp->launched_in_backward = 0;
    })
}

// After the last micro-step's backward: gathers the gradients that did not arrive through the hooks (parameters this
// rank did not use count as zeros), launches the remaining buckets in order, waits for all, and writes the mean over the
// ranks back into each parameter's gradient. A parameter that no rank used keeps no gradient, as in a single process.
// stats: [0] buckets launched during backward, [1] buckets, [2] seconds spent waiting here, [3] seconds from the first
// bucket's all-reduce starting to the last one finishing (0 where the backend reports no completion times).
LLM_API int32_t llm_ddp_finish(llm_ddp* ddp, double* stats) {
    LLM_TRY({
        auto start = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(ddp->mutex);
        if (!ddp->syncing) throw std::logic_error("DistributedDataParallel: finish() without prepare(sync=1) before backward");
        const int n = static_cast<int>(ddp->params.size());
        // Which parameters have a gradient on this rank, summed over the ranks: a parameter no rank used keeps none.
        at::Tensor used = at::zeros({n}, at::TensorOptions().dtype(at::kFloat));
        auto* u = used.data_ptr<float>();
        for (int i = 0; i < n; i++) u[i] = ddp->params[i].grad().defined() ? 1.0f : 0.0f;
        for (int i = 0; i < n; i++) {
            if (ddp->bucket_of[i] < 0 || ddp->arrived[i]) continue;
            Bucket& b = ddp->buckets[ddp->bucket_of[i]];
            ddp->copy_in(b, i);
            ddp->arrived[i] = 1;
            b.pending--;
        }
        for (; ddp->next_bucket < static_cast<int>(ddp->buckets.size()); ddp->next_bucket++) ddp->launch(ddp->buckets[ddp->next_bucket]);
        if (ddp->pg->backend->getBackendName() != "nccl") {
            std::vector<at::Tensor> one{used};
            ddp->pg->backend->allreduce(one, c10d::AllreduceOptions())->wait();
        } else {
            // NCCL reduces device tensors only; an unused parameter on CUDA keeps a zero gradient.
            used.fill_(1.0f);
        }
        at::NoGradGuard no_grad;
        const double inv = 1.0 / ddp->pg->size;
        for (auto& b : ddp->buckets) {
            b.work->wait();
            // The completion callback runs as the work completes; wait() can return just before it has.
            for (int spin = 0; b.timed && spin < 1000 && b.finished_ns->load() == 0; spin++) std::this_thread::yield();
            b.flat.mul_(inv);
            for (size_t slot = 0; slot < b.params.size(); slot++) {
                int i = b.params[slot];
                at::Tensor& p = ddp->params[i];
                if (used.data_ptr<float>()[i] == 0) {
                    p.mutable_grad() = at::Tensor();
                    continue;
                }
                at::Tensor src = b.flat.narrow(0, b.offsets[slot], p.numel()).view(p.sizes());
                if (p.grad().defined()) p.mutable_grad().copy_(src);
                else p.mutable_grad() = src.clone();
            }
            b.work.reset();
        }
        ddp->syncing = false;
        if (stats != nullptr) {
            stats[0] = ddp->launched_in_backward;
            stats[1] = static_cast<double>(ddp->buckets.size());
            stats[2] = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            stats[3] = 0;
            if (!ddp->buckets.empty()) {
                auto first = ddp->buckets[0].started;
                int64_t last = 0;
                bool timed = true;
                for (auto& b : ddp->buckets) {
                    first = std::min(first, b.started);
                    int64_t f = b.finished_ns->load();
                    timed = timed && f != 0;
                    last = std::max(last, f);
                }
                if (timed) stats[3] = std::max(0.0, (last - first.time_since_epoch().count()) / 1e9);
            }
        }
    })
}
