/*
 * A small hash map in C, key (a, b) -> a non-NULL pointer: open addressing with linear
 * probing, kept under half full, removal by moving back the entries that probed past the
 * hole. fuse_build.py appends this file first; the open files' queues (message_queue.c, keyed
 * by session and file handle) and a virtio rpmsg device's endpoints (endpoint_table.c, keyed
 * by address) use it. It has no lock: its users lock as their threads need.
 */

struct rpe_map_slot { uint64_t a, b; void *value; };

struct rpe_map {
    size_t cap, used;            /* cap: 0 or a power of two */
    struct rpe_map_slot *slots;
};

static size_t rpe_map_home(const struct rpe_map *m, uint64_t a, uint64_t b)
{
    uint64_t h = (a ^ (b * 0x9E3779B97F4A7C15u)) * 0x9E3779B97F4A7C15u;
    return (size_t)(h >> 32) & (m->cap - 1);
}

static size_t rpe_map_slot_of(const struct rpe_map *m, uint64_t a, uint64_t b)
{
    size_t i = rpe_map_home(m, a, b);
    while (m->slots[i].value != NULL && (m->slots[i].a != a || m->slots[i].b != b))
        i = (i + 1) & (m->cap - 1);
    return i;  /* its slot, or the free one where it would go */
}

static void *rpe_map_find(const struct rpe_map *m, uint64_t a, uint64_t b)
{
    return m->used ? m->slots[rpe_map_slot_of(m, a, b)].value : NULL;
}

static int rpe_map_grow(struct rpe_map *m)
{
    struct rpe_map_slot *old = m->slots;
    size_t old_cap = m->cap, cap = old_cap ? old_cap * 2 : 16;
    struct rpe_map_slot *slots = calloc(cap, sizeof(*slots));
    if (slots == NULL)
        return -ENOMEM;
    m->slots = slots;
    m->cap = cap;
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].value != NULL)
            m->slots[rpe_map_slot_of(m, old[i].a, old[i].b)] = old[i];
    free(old);
    return 0;
}

/* Set (a, b) -> value; *replaced gets the value it had (NULL: new). 0, or -ENOMEM. */
static int rpe_map_put(struct rpe_map *m, uint64_t a, uint64_t b, void *value, void **replaced)
{
    size_t i;
    if (2 * (m->used + 1) > m->cap && rpe_map_grow(m) < 0)
        return -ENOMEM;
    i = rpe_map_slot_of(m, a, b);
    *replaced = m->slots[i].value;
    if (*replaced == NULL)
        m->used++;
    m->slots[i] = (struct rpe_map_slot){a, b, value};
    return 0;
}

/* Remove (a, b); returns the value it had, or NULL. */
static void *rpe_map_remove(struct rpe_map *m, uint64_t a, uint64_t b)
{
    size_t mask, hole, i;
    void *value;
    if (!m->used)
        return NULL;
    mask = m->cap - 1;
    hole = i = rpe_map_slot_of(m, a, b);
    value = m->slots[hole].value;
    if (value == NULL)
        return NULL;
    m->slots[hole].value = NULL;
    m->used--;
    while (m->slots[i = (i + 1) & mask].value != NULL) {
        size_t home = rpe_map_home(m, m->slots[i].a, m->slots[i].b);
        /* stays unless its home is cyclically outside (hole, i] */
        if (((i - home) & mask) >= ((i - hole) & mask)) {
            m->slots[hole] = m->slots[i];
            m->slots[i].value = NULL;
            hole = i;
        }
    }
    return value;
}
