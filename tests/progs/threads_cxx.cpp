// threads_cxx: std::thread, std::mutex, std::condition_variable,
// std::recursive_mutex, std::timed_mutex, std::shared_mutex, std::async
// and thread_local-free per-thread work, as a C++ program uses them.
// With -t it also prints the OS thread count (/proc/self/status).
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <future>
#include <iostream>
#include <mutex>
#include <queue>
#include <shared_mutex>
#include <thread>
#include <vector>

#include "check.h"

int main(int argc, char **argv)
{
    std::mutex m;
    std::condition_variable cv;
    std::queue<int> q;
    bool done = false;
    long sum = 0;
    std::vector<std::thread> consumers;
    for (int i = 0; i < 4; i++)
        consumers.emplace_back([&] {
            for (;;) {
                std::unique_lock<std::mutex> lk(m);
                cv.wait(lk, [&] { return !q.empty() || done; });
                if (q.empty())
                    return;
                sum += q.front();
                q.pop();
            }
        });
    for (int i = 1; i <= 10000; i++) {
        std::lock_guard<std::mutex> lk(m);
        q.push(i);
        cv.notify_one();
    }
    {
        std::lock_guard<std::mutex> lk(m);
        done = true;
    }
    cv.notify_all();
    for (auto &t : consumers)
        t.join();
    std::printf("queue sum %ld\n", sum);

    std::recursive_mutex rm;
    rm.lock();
    std::printf("recursive try_lock by owner %d\n", (int)rm.try_lock());
    rm.unlock();
    rm.unlock();

    std::timed_mutex tm;
    tm.lock();
    bool got = true;
    std::thread([&] { got = tm.try_lock_for(std::chrono::milliseconds(20)); }).join();
    std::printf("timed mutex held elsewhere: got %d\n", (int)got);
    tm.unlock();

    std::shared_mutex sm;
    int readers_in = 0;
    std::vector<std::thread> rs;
    sm.lock_shared();
    for (int i = 0; i < 3; i++)
        rs.emplace_back([&] {
            std::shared_lock<std::shared_mutex> lk(sm);
            readers_in++;
        });
    for (auto &t : rs)
        t.join();
    sm.unlock_shared();
    bool wr = sm.try_lock();
    std::printf("shared readers %d, then exclusive %d\n", readers_in, (int)wr);
    if (wr)
        sm.unlock();

    auto f = std::async(std::launch::async, [] {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return 42;
    });
    std::printf("async %d\n", f.get());

    std::mutex cm;
    std::condition_variable ccv;
    std::unique_lock<std::mutex> lk(cm);
    auto r = ccv.wait_for(lk, std::chrono::milliseconds(20));
    std::printf("wait_for timed out %d\n", (int)(r == std::cv_status::timeout));
    lk.unlock();

    if (argc > 1 && !std::strcmp(argv[1], "-t"))
        print_os_threads();
    return 0;
}
