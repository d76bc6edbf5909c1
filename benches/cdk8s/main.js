// A cdk8s app holding gatehouse's Redis/Sentinel objects, for `cargo xtask bench`.
// The bench writes the objects gatehouse rendered as a JSON array to the file named by
// GATEHOUSE_BENCH_INPUT and times `cdk8s synth`: cdk8s builds an ApiObject of each and writes
// them out. Nothing here restates the objects, so a new object kind needs no edit.
"use strict";

const fs = require("fs");
const { App, Chart, ApiObject } = require("cdk8s");

const objects = JSON.parse(fs.readFileSync(process.env.GATEHOUSE_BENCH_INPUT, "utf8"));

class RedisSentinel extends Chart {
  constructor(scope, id) {
    super(scope, id);
    objects.forEach((object, index) => new ApiObject(this, `object-${index}`, object));
  }
}

const app = new App();
new RedisSentinel(app, "redis-sentinel");
app.synth();
