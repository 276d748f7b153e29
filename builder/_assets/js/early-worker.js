import {
  dropEarly,
  mayStartEarly,
  startEarly,
  takeEarly
} from "./chunk-NSSBUJ4B.js";
export {
  dropEarly,
  mayStartEarly,
  startEarly,
  takeEarly
};
