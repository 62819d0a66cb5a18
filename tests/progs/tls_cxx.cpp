// tls_cxx: C++ thread_local objects are built on first use in each
// thread and destroyed when that thread ends, in reverse order of
// construction and before its pthread key destructors, as natively.
#include <cstdio>
#include <pthread.h>
#include <semaphore.h>
#include <string>

static pthread_key_t key;
static sem_t go[2], built;

struct Noisy {
    std::string name;
    explicit Noisy(std::string n) : name(std::move(n))
    {
        std::printf("ctor %s\n", name.c_str());
    }
    ~Noisy()
    {
        std::printf("dtor %s\n", name.c_str());
    }
};

static thread_local int uses = 0;

static void *worker(void *arg)
{
    long id = (long)arg;
    thread_local Noisy first("first of " + std::to_string(id));
    thread_local Noisy second("second of " + std::to_string(id));
    uses += (int)id;
    pthread_setspecific(key, (void *)arg);
    std::printf("thread %ld: %s, %s, uses %d\n", id, first.name.c_str(), second.name.c_str(), uses);
    sem_post(&built);
    sem_wait(&go[id - 1]); // both threads exist with their objects built
    std::printf("thread %ld ends, uses %d\n", id, uses);
    return nullptr;
}

static void key_gone(void *v)
{
    std::printf("key destructor of thread %ld\n", (long)v);
}

int main()
{
    pthread_key_create(&key, key_gone);
    sem_init(&go[0], 0, 0);
    sem_init(&go[1], 0, 0);
    sem_init(&built, 0, 0);
    pthread_t t1, t2;
    pthread_create(&t1, nullptr, worker, (void *)1L);
    sem_wait(&built);
    pthread_create(&t2, nullptr, worker, (void *)2L);
    sem_wait(&built);
    // Both exist with their objects built; thread 2 ends first.
    sem_post(&go[1]);
    pthread_join(t2, nullptr);
    sem_post(&go[0]);
    pthread_join(t1, nullptr);
    std::printf("main uses %d\n", uses);
    return 0;
}
