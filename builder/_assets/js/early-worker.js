import {
  dropEarly,
  mayStartEarly,
  startEarly,
  takeEarly
} from "./chunk-5F576OVM.js";
export {
  dropEarly,
  mayStartEarly,
  startEarly,
  takeEarly
};
