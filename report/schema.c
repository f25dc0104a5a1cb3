/* schema.c — where each schema keeps what the report reads: portprobe_mongodb's
 * (metrics/events, meta.*; its indexes series_time, type_time, state_time
 * cover the filters) and Telegraf outputs.mongodb's (a collection per
 * measurement, timestamp, tags.*; docs/telegraf.md gives the indexes). A
 * measure is a filter plus the field that holds the number, and a factor
 * to the report's unit. The consensus of a central collectd (issue 23) is
 * collectd's schema read from its bool-consensus series and its consensus
 * notifications (verdict down, regional, silent, up). */
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
        /* what collectd's network plugin brought has no meta data */
        .ev_severity = "severity",
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

/* The central collectd's consensus: collectd's schema, read from the
 * bool-consensus value of each target each interval (1 unless the quorum
 * sees it down; no location label, host the central) and the notifications
 * of kind "consensus" (meta.verdict). The locations measure the rest: the
 * other measures are pointed at type instance "consensus", which none has. */
const pr_schema *pr_schema_consensus(const pr_schema *s) {
  static pr_schema c;
  if (strcmp(s->name, "collectd") != 0)
    return NULL;
  if (c.name == NULL) {
    c = *s;
    c.name = "consensus";
    pr_measure *measures[] = {&c.up, &c.response, &c.loss, &c.jitter, &c.cert};
    for (size_t i = 0; i < sizeof(measures) / sizeof(*measures); i++)
      measures[i]->match[1].str = "consensus"; /* meta.type_instance */
    c.ev_base[1].str = "consensus";            /* kind */
    c.ev_state = "meta.verdict";
    c.ev_severity = NULL;
    c.ev_down_only = true;
  }
  return &c;
}

const pr_schema *pr_schema_find(const char *name) {
  for (size_t i = 0; i < sizeof(schemas) / sizeof(*schemas); i++)
    if (strcmp(schemas[i].name, name) == 0)
      return &schemas[i];
  return NULL;
}

const char *pr_schema_default_database(const pr_schema *s) {
  return s->database;
}
