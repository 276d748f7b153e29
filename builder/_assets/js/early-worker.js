import {
  dropEarly,
  mayStartEarly,
  startEarly,
  takeEarly
} from "./chunk-SZPZD4SK.js";
export {
  dropEarly,
  mayStartEarly,
  startEarly,
  takeEarly
};
