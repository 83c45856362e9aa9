import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Lets the Web UI filter plandb workflows by environment and by the step they are on. */
export const PLAN_DB_ENVIRONMENT = defineSearchAttributeKey('PlanDbEnvironment', SearchAttributeType.KEYWORD);
export const PLAN_DB_STEP = defineSearchAttributeKey('PlanDbStep', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [PLAN_DB_ENVIRONMENT, PLAN_DB_STEP];
