/* schema.c — where each schema keeps what the report reads: portprobe_mongodb's
 * (metrics/events, meta.*; its indexes series_time, type_time, state_time
 * cover the filters) and Telegraf outputs.mongodb's (a collection per
 * measurement, timestamp, tags.*; docs/telegraf.md gives the indexes). A
 * measure is a filter plus the field that holds the number, and a factor
 * to the report's unit. */
#include "schema.h"

#include <string.h>

static const pr_schema schemas[] = {
    {
        .name = "collectd",
        .database = "portprobe",
        .metrics = "metrics",
        .events = "events",
        .time = "time",
        .target = "meta.plugin_instance",
        .location = "meta.labels.location",
        .interval = "interval",
        .base = {{"meta.plugin", "portprobe", 0}},
        .up = {{{"meta.type", "bool", 0}, {"meta.type_instance", "up", 0}},
               "value",
               1},
        .response = {{{"meta.type", "response_time", 0},
                      {"meta.type_instance", "total", 0}},
                     "value",
                     1},
        .loss = {{{"meta.type", "ping_droprate", 0},
                  {"meta.type_instance", "", 0}},
                 "value",
                 100},
        .jitter = {{{"meta.type", "portprobe_jitter", 0},
                    {"meta.type_instance", "", 0}},
                   "value",
                   0.001},
        .cert = {{{"meta.type", "timeleft", 0},
                  {"meta.type_instance", "cert_expiry", 0}},
                 "value",
                 1},
        .ev_base = {{"plugin", "portprobe", 0}, {"kind", "state", 0}},
        .ev_target = "plugin_instance",
        .ev_location = "labels.location",
        .ev_state = "meta.state",
        .ev_message = "message",
    },
    {
        .name = "telegraf",
        .database = "telegraf",
        .metrics = "portprobe",
        .events = "portprobe_event",
        .time = "timestamp",
        .target = "tags.target",
        .location = "tags.location",
        .interval = NULL,
        .one_document = true,
        .up = {{{NULL, NULL, 0}}, "up", 1},
        .response = {{{"up", NULL, 1}}, "response_time", 1},
        .loss = {{{NULL, NULL, 0}}, "loss_percent", 1},
        .jitter = {{{NULL, NULL, 0}}, "jitter", 1},
        .cert = {{{NULL, NULL, 0}}, "cert_expiry", 1},
        .ev_base = {{"kind", "state", 0}},
        .ev_target = "tags.target",
        .ev_location = "tags.location",
        .ev_state = "state",
        .ev_message = "message",
    },
};

const pr_schema *pr_schema_find(const char *name) {
  for (size_t i = 0; i < sizeof(schemas) / sizeof(*schemas); i++)
    if (strcmp(schemas[i].name, name) == 0)
      return &schemas[i];
  return NULL;
}

const char *pr_schema_default_database(const pr_schema *s) {
  return s->database;
}
