"""A fast executor for the simulator's read queries, answering what graphql-core's ``execute`` answers.

graphql-core's executor spends about a millisecond per order of a listing page on its general
machinery (awaitable checks, paths, incremental delivery), which made the simulator, not the client,
the bottleneck of a resync (issue 12). This one walks the same document over the same schema and
resolvers, for the part of GraphQL the simulator's schema uses: object types, lists, non-null,
scalars and enums, fragments and inline fragments on object types.

Anything outside that part, and any error at all (a resolver raising, a null in a non-null field, a
leaf that does not serialize, a directive, an introspection field), raises :class:`Unsupported`: the
caller then runs graphql-core's ``execute`` instead, which answers with the errors as the
specification has them. Only queries come here: their resolvers read and change nothing, so running
one twice is harmless.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLID,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLResolveInfoHelpers,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLString,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    Undefined,
)
from graphql.execution.values import VariableValues, get_argument_values
from graphql.pyutils import Path, is_awaitable

Complete = Callable[[Any], Any]
# one field of a selection on an object type: its response key; the name the default resolver reads;
# its resolver, bound to this request's arguments (None: the default resolver); how its value is
# completed; and, for a String, ID or Boolean leaf, the Python type its serialisation keeps as it
# is, with whether it may be null (most fields of a page: completed without a call)
Step = tuple[str, str, Callable[[Any], Any] | None, Complete, type | None, bool]
Plan = list[Step]


class Unsupported(Exception):
    """The fast path does not answer this request; graphql-core's executor does."""


def execute_query(
    schema: GraphQLSchema,
    fragments: Mapping[str, FragmentDefinitionNode],
    operation: OperationDefinitionNode,
    variables: VariableValues,
    context: Any,
) -> dict[str, Any]:
    """The ``data`` of ``operation`` (a query), or :class:`Unsupported`."""
    root = schema.query_type
    if operation.operation is not OperationType.QUERY or root is None or operation.directives:
        raise Unsupported("only queries, without directives")
    runner = _Runner(schema, fragments, operation, variables, context)
    try:
        return runner.object(None, runner.plan(root, (operation.selection_set,)))
    except Unsupported:
        raise
    except Exception as error:  # any error is graphql-core's to report
        raise Unsupported(str(error)) from error


class _Runner:
    """One request. What does not change from one object to the next (the fields a selection
    collects, the arguments of a field, how a type's value is completed) is worked out once, the
    first time an object of that selection is met: a page selects the same fields on every order."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        operation: OperationDefinitionNode,
        variables: VariableValues,
        context: Any,
    ) -> None:
        self.schema = schema
        self.fragments = dict(fragments)
        self.operation = operation
        self.variables = variables
        self.context = context

    @staticmethod
    def object(source: Any, plan: Plan) -> dict[str, Any]:
        result: dict[str, Any] = {}
        mapping = isinstance(source, Mapping)
        for key, name, resolve, complete, unchanged, nullable in plan:
            if resolve is None:  # graphql-core's default resolver
                value = source.get(name) if mapping else getattr(source, name, None)
                if unchanged is not None:
                    if type(value) is unchanged:
                        result[key] = value
                        continue
                    if value is None and nullable:
                        result[key] = None
                        continue
                if callable(value):
                    raise Unsupported("a callable field value")
            else:
                value = resolve(source)
            result[key] = complete(value)
        return result

    def plan(self, parent: GraphQLObjectType, selections: tuple[SelectionSetNode, ...]) -> Plan:
        """The fields ``selections`` ask of ``parent``, merged by response key (graphql-core's
        ``collect_fields``), each with its resolver and how its value is completed."""
        fields: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for selection in selections:
            self.collect(parent, selection, fields, visited)
        plan: Plan = []
        for key, nodes in fields.items():
            name = nodes[0].name.value
            if name.startswith("__"):
                raise Unsupported("an introspection field")
            field = parent.fields.get(name)
            if field is None:
                continue
            # the arguments are the same for every object of this selection: coerced once (and
            # checked, as graphql-core checks them, for a field the default resolver reads too)
            args = get_argument_values(field, nodes[0], self.variables) if nodes[0].arguments else {}
            resolve = None
            if field.resolve is not None:
                info = self.info(key, name, nodes, field, parent)
                resolve = partial(_call, field.resolve, info, args)
            nullable = not isinstance(field.type, GraphQLNonNull)
            named = field.type if nullable else field.type.of_type  # type: ignore[union-attr]
            unchanged = _UNCHANGED.get(named) if isinstance(named, GraphQLScalarType) else None
            plan.append((key, name, resolve, self.completer(field.type, nodes), unchanged, nullable))
        return plan

    def completer(self, kind: GraphQLOutputType, nodes: list[FieldNode]) -> Complete:
        """What turns a value of type ``kind`` into its answer (graphql-core's ``complete_value``)."""
        if isinstance(kind, GraphQLNonNull):
            inner = self.completer(kind.of_type, nodes)

            def non_null(value: Any) -> Any:
                completed = inner(value)
                if completed is None:
                    raise Unsupported("null in a non-null field")
                return completed

            return non_null
        if isinstance(kind, GraphQLList):
            item = self.completer(kind.of_type, nodes)

            def listed(value: Any) -> Any:
                if _absent(value):
                    return None
                if not isinstance(value, list | tuple) and (
                    isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable)
                ):
                    raise Unsupported("a list field that is not a list")
                return [item(each) for each in value]

            return listed
        if isinstance(kind, GraphQLScalarType | GraphQLEnumType):
            return _leaf(kind)
        if isinstance(kind, GraphQLObjectType) and kind.is_type_of is None:
            selections = tuple(node.selection_set for node in nodes if node.selection_set is not None)
            plans: list[Plan] = []  # made at the first value (a recursive type's plan is made lazily)

            def object_value(value: Any) -> Any:
                if _absent(value):
                    return None
                if not plans:
                    plans.append(self.plan(kind, selections))
                return self.object(value, plans[0])

            return object_value
        raise Unsupported("an abstract type")

    def collect(
        self,
        parent: GraphQLObjectType,
        selection_set: SelectionSetNode,
        fields: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for node in selection_set.selections:
            if node.directives:
                raise Unsupported("a directive")
            if isinstance(node, FieldNode):
                fields.setdefault((node.alias or node.name).value, []).append(node)
            elif isinstance(node, InlineFragmentNode):
                condition = node.type_condition.name.value if node.type_condition else None
                if self.applies(condition, parent):
                    self.collect(parent, node.selection_set, fields, visited)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                if getattr(node, "arguments", None):
                    raise Unsupported("fragment arguments")
                fragment = self.fragments.get(name)
                if name in visited or fragment is None:
                    continue
                visited.add(name)
                if self.applies(fragment.type_condition.name.value, parent):
                    self.collect(parent, fragment.selection_set, fields, visited)
            else:
                raise Unsupported("an unknown selection")

    def applies(self, condition: str | None, parent: GraphQLObjectType) -> bool:
        if condition is None or condition == parent.name:
            return True
        if not isinstance(self.schema.get_type(condition), GraphQLObjectType):
            raise Unsupported("a fragment on an abstract type")
        return False

    def info(
        self, key: str, name: str, nodes: list[FieldNode], field: GraphQLField, parent: GraphQLObjectType
    ) -> GraphQLResolveInfo[Any]:
        # the path is the field's key under its parent only: no resolver of the simulator reads it
        return GraphQLResolveInfo(
            name,
            nodes,
            field.type,
            parent,
            Path(None, key, parent.name),
            self.schema,
            self.fragments,
            None,
            self.operation,
            self.variables,
            self.context,
            is_awaitable,
            None,
            _SYNCHRONOUS,
        )


def _call(
    resolve: Callable[..., Any], info: GraphQLResolveInfo[Any], args: dict[str, Any], source: Any
) -> Any:
    return resolve(source, info, **args)


# leaves whose serialisation leaves a value of this Python type as it is (graphql-core's
# ``serialize_string`` and the others check and convert): the check, without the call
_UNCHANGED: dict[GraphQLScalarType, type] = {GraphQLString: str, GraphQLID: str, GraphQLBoolean: bool}


def _leaf(kind: GraphQLScalarType | GraphQLEnumType) -> Complete:
    serialize = kind.serialize
    unchanged = _UNCHANGED.get(kind) if isinstance(kind, GraphQLScalarType) else None

    def leaf(value: Any) -> Any:
        if unchanged is not None and type(value) is unchanged:
            return value
        if _absent(value):
            return None
        serialized = serialize(value)
        if serialized is None or serialized is Undefined:
            raise Unsupported("a leaf that does not serialize")
        return serialized

    return leaf


def _no_async_work(*_: Any) -> Any:
    raise Unsupported("asynchronous work")  # every resolver of the simulator is synchronous


_SYNCHRONOUS = GraphQLResolveInfoHelpers(gather=_no_async_work, track=_no_async_work)


def _absent(value: Any) -> bool:
    """None (graphql-core's null); an error a resolver returned is graphql-core's to report."""
    if isinstance(value, Exception):
        raise Unsupported("a resolver returned an error")
    return value is None or value is Undefined
