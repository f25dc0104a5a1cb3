/* mongo_buffer.c — the bounded queue of documents waiting for MongoDB.
 * A ring of `limit` slots; the batch in flight is the first `pinned` slots,
 * and items dropped out of it while it is in flight ("cancelled") are kept
 * aside until the writer reports how the attempt ended. */

#include "mongo_buffer.h"

#include <stdlib.h>

typedef struct {
  void *item;
  uint64_t seq;
  int kind;
} mb_entry_t;

struct mongo_buffer_s {
  mb_entry_t *ring;
  size_t limit;
  size_t head;  /* index of the oldest item */
  size_t count; /* items in the ring, pinned ones included */
  size_t pinned;

  /* The batch in flight, oldest first. Its first `cancelled` items were
   * dropped from the ring while in flight; the others are the ring's first
   * `pinned` slots. */
  mb_entry_t *batch;
  size_t batch_max;
  size_t batch_len;
  size_t cancelled;

  uint64_t next_seq;
  uint64_t dropped;
  uint64_t rejected;
  uint64_t written;
  mongo_buffer_free_f free_item;
};

mongo_buffer_t *mongo_buffer_create(size_t limit, size_t batch_max,
                                    mongo_buffer_free_f free_item) {
  if (limit == 0 || batch_max == 0 || free_item == NULL)
    return NULL;

  mongo_buffer_t *b = calloc(1, sizeof(*b));
  if (b == NULL)
    return NULL;
  b->ring = calloc(limit, sizeof(*b->ring));
  b->batch = calloc(batch_max, sizeof(*b->batch));
  if (b->ring == NULL || b->batch == NULL) {
    free(b->ring);
    free(b->batch);
    free(b);
    return NULL;
  }
  b->limit = limit;
  b->batch_max = batch_max;
  b->free_item = free_item;
  return b;
}

static mb_entry_t *ring_at(mongo_buffer_t *b, size_t i) {
  return &b->ring[(b->head + i) % b->limit];
}

static const mb_entry_t *ring_at_const(const mongo_buffer_t *b, size_t i) {
  return &b->ring[(b->head + i) % b->limit];
}

static void ring_pop(mongo_buffer_t *b) {
  b->head = (b->head + 1) % b->limit;
  b->count--;
}

void mongo_buffer_destroy(mongo_buffer_t *b) {
  if (b == NULL)
    return;
  for (size_t i = 0; i < b->cancelled; i++)
    b->free_item(b->batch[i].item);
  while (b->count > 0) {
    b->free_item(ring_at(b, 0)->item);
    ring_pop(b);
  }
  free(b->ring);
  free(b->batch);
  free(b);
}

int mongo_buffer_push(mongo_buffer_t *b, void *item, int kind) {
  int dropped = 0;

  if (b->count == b->limit) {
    if (b->pinned > 0) {
      /* The writer still reads this item: keep it aside, finish() decides. */
      b->cancelled++;
      b->pinned--;
    } else {
      b->free_item(ring_at(b, 0)->item);
    }
    ring_pop(b);
    b->dropped++;
    dropped = 1;
  }

  mb_entry_t *e = ring_at(b, b->count);
  e->item = item;
  e->kind = kind;
  e->seq = b->next_seq++;
  b->count++;
  return dropped;
}

size_t mongo_buffer_take(mongo_buffer_t *b, void **items, size_t max,
                         int *kind) {
  if (b->batch_len > 0 || b->count == 0 || max == 0)
    return 0;
  if (max > b->batch_max)
    max = b->batch_max;

  int k = ring_at(b, 0)->kind;
  size_t n = 0;
  while (n < max && n < b->count && ring_at(b, n)->kind == k) {
    b->batch[n] = *ring_at(b, n);
    items[n] = b->batch[n].item;
    n++;
  }
  b->batch_len = n;
  b->pinned = n;
  b->cancelled = 0;
  if (kind != NULL)
    *kind = k;
  return n;
}

void mongo_buffer_finish(mongo_buffer_t *b, size_t written, size_t rejected) {
  size_t n = b->batch_len;
  if (written > n)
    written = n;
  if (rejected > n - written)
    rejected = n - written;

  for (size_t i = 0; i < n; i++) {
    int in_ring = i >= b->cancelled;

    if (i < written) {
      /* Stored: an item dropped while in flight was not lost after all. */
      if (in_ring)
        ring_pop(b);
      else
        b->dropped--;
      b->written++;
      b->free_item(b->batch[i].item);
    } else if (i < written + rejected) {
      if (in_ring) {
        ring_pop(b);
        b->rejected++;
      }
      b->free_item(b->batch[i].item);
    } else if (!in_ring) {
      b->free_item(b->batch[i].item); /* dropped and not stored */
    }
    /* else: stays at the head of the ring for the next attempt */
  }

  b->batch_len = 0;
  b->pinned = 0;
  b->cancelled = 0;
}

size_t mongo_buffer_count(const mongo_buffer_t *b) {
  return b->count;
}

uint64_t mongo_buffer_dropped(const mongo_buffer_t *b) {
  return b->dropped;
}

uint64_t mongo_buffer_rejected(const mongo_buffer_t *b) {
  return b->rejected;
}

uint64_t mongo_buffer_written(const mongo_buffer_t *b) {
  return b->written;
}

uint64_t mongo_buffer_next_seq(const mongo_buffer_t *b) {
  return b->next_seq;
}

uint64_t mongo_buffer_head_seq(const mongo_buffer_t *b) {
  if (b->count == 0)
    return b->next_seq;
  return ring_at_const(b, 0)->seq;
}
