// atomic_wait: C++20 std::atomic<int>::wait and notify_one between two
// std::threads (libstdc++ waits with syscall(SYS_futex) after a short
// spin), 1000 rounds of ping-pong, then a waiter that a notify from a
// thread that first sleeps 200 ms wakes. The same lines natively and
// under libgreen; with -t also the "Threads:" line of /proc/self/status.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "check.h"

int main(int argc, char **argv)
{
    std::atomic<int> turn{0};
    const int rounds = 1000;
    std::thread pong([&] {
        for (int i = 0; i < rounds; i++) {
            turn.wait(0);
            turn.store(0);
            turn.notify_one();
        }
    });
    for (int i = 0; i < rounds; i++) {
        turn.store(1);
        turn.notify_one();
        turn.wait(1);
    }
    pong.join();
    std::printf("ping-pong: %d rounds\n", rounds);

    std::atomic<int> flag{0};
    std::atomic<bool> other_ran{false};
    std::thread late([&] {
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        other_ran = true;
        flag.store(1);
        flag.notify_one();
    });
    flag.wait(0);
    late.join();
    std::printf("late notify: flag %d, other thread ran %d\n", flag.load(), (int)other_ran.load());

    if (argc > 1 && !std::strcmp(argv[1], "-t"))
        print_os_threads();
    return 0;
}
