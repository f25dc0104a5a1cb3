/* mongo_buffer.h — the bounded queue of documents waiting for MongoDB.
 * A FIFO with a fixed limit: when full, the oldest document is dropped and
 * counted. The writer pins a batch at the head while it sends it, and tells
 * the queue afterwards how much of the batch the server took.
 *
 * Not thread-safe: the caller serialises every call with its own lock.
 * The queue owns every item pushed into it and frees it with the free
 * function given at creation. */

#ifndef PORTPROBE_MONGO_BUFFER_H
#define PORTPROBE_MONGO_BUFFER_H

#include <stddef.h>
#include <stdint.h>

typedef struct mongo_buffer_s mongo_buffer_t;
typedef void (*mongo_buffer_free_f)(void *item);

/* limit: most items held at once (>= 1); batch_max: most items one batch
 * may pin (>= 1). Returns NULL on bad arguments or out of memory. */
mongo_buffer_t *mongo_buffer_create(size_t limit, size_t batch_max,
                                    mongo_buffer_free_f free_item);

/* Frees every item still held, including a batch in flight: only call it
 * when no writer uses a batch any more. */
void mongo_buffer_destroy(mongo_buffer_t *b);

/* Appends item, which belongs to the queue from now on. kind tags the item
 * (for example its collection); a batch never mixes kinds. When the queue
 * already holds `limit` items the oldest one is dropped first, even if it is
 * part of the batch in flight (then it is dropped when the batch finishes,
 * unless the server took it after all). Returns 1 if an item was dropped,
 * else 0. */
int mongo_buffer_push(mongo_buffer_t *b, void *item, int kind);

/* Pins the oldest run of items of one kind, at most max (capped at
 * batch_max), and copies their pointers into items[]; *kind receives their
 * kind. Returns how many were pinned: 0 when empty or when a batch is
 * already in flight. The items stay owned by the queue. */
size_t mongo_buffer_take(mongo_buffer_t *b, void **items, size_t max,
                         int *kind);

/* Ends the attempt begun by take. The first `written` items of the batch
 * were stored by the server and are freed; the next `rejected` items were
 * refused and are freed and counted as rejected; the rest go back to the
 * head of the queue in their order. */
void mongo_buffer_finish(mongo_buffer_t *b, size_t written, size_t rejected);

/* Items held, including the batch in flight. */
size_t mongo_buffer_count(const mongo_buffer_t *b);
/* Items dropped because the queue was full, since creation. */
uint64_t mongo_buffer_dropped(const mongo_buffer_t *b);
/* Items the server refused, since creation. */
uint64_t mongo_buffer_rejected(const mongo_buffer_t *b);
/* Items the server stored, since creation. */
uint64_t mongo_buffer_written(const mongo_buffer_t *b);

/* Every push gets the next sequence number, starting at 0. next_seq is the
 * number the next push will get; head_seq is the number of the oldest item
 * held (next_seq when empty). Everything pushed before a moment when
 * next_seq was N is gone (written, rejected or dropped) once head_seq >= N:
 * that is what a flush waits for. */
uint64_t mongo_buffer_next_seq(const mongo_buffer_t *b);
uint64_t mongo_buffer_head_seq(const mongo_buffer_t *b);

#endif /* PORTPROBE_MONGO_BUFFER_H */
